import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';
import { type GatewayConfig } from './config';
import { type Downstream } from './downstream/downstream';
import { type PageCache } from './page-cache/page-cache';
import { type LoginFailureLimiter } from './rate-limit/login-failures';

/** What route modules need, built once by `buildApp`. */
export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly downstream: Downstream;
  readonly pageCache: PageCache;
  readonly loginFailures: LoginFailureLimiter;
}
