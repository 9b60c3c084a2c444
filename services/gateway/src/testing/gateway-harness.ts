/* eslint-disable @typescript-eslint/require-await -- unary() handlers return promises; these in-memory fakes mostly have nothing to await. */
import { randomUUID } from 'node:crypto';
import {
  ContentServiceService,
  PaymentServiceService,
  UserServiceService,
  realtimeEventChannel,
  serializeRealtimeEvent,
  type RealtimeEvent,
} from '@strata/contracts';
import { loadConfig } from '@strata/config';
import { createGrpcServer, type GrpcServer } from '@strata/grpc';
import { createLogger, type Logger } from '@strata/logger';
import { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../app';
import { gatewayConfigSchema, type GatewayConfig } from '../config';
import { FakeContentService } from './fake-content.service';
import { FakePaymentService } from './fake-payment.service';
import { FAKE_AUDIENCE, FAKE_ISSUER, FakeUserService } from './fake-user.service';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The three fake services on one in-process gRPC server (127.0.0.1, free port). */
export interface FakeServices {
  readonly target: string;
  readonly users: FakeUserService;
  readonly content: FakeContentService;
  readonly payments: FakePaymentService;
  readonly server: GrpcServer;
  /** Publishes a real-time event the way services do (Redis pub/sub). */
  publish(userId: string, event: RealtimeEvent): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeServices(
  options: { mediaMaxBytes?: number } = {},
): Promise<FakeServices> {
  const logger = createLogger({ name: 'fake-services', level: 'silent' });
  const publisher = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await publisher.connect();
  const publish = async (userId: string, event: RealtimeEvent): Promise<void> => {
    await publisher.publish(realtimeEventChannel(userId), serializeRealtimeEvent(event));
  };
  const users = await FakeUserService.create();
  const content = new FakeContentService({
    displayName: (userId) => users.displayName(userId),
    publish,
    mediaMaxBytes: options.mediaMaxBytes ?? 256 * 1024,
  });
  const payments = new FakePaymentService({
    userExists: (userId) => users.exists(userId),
    publish,
  });
  const server = createGrpcServer({
    name: 'fake-services',
    logger,
    port: 0,
    host: '127.0.0.1',
    readiness: async () => true,
    maxReceiveMessageLength: 16 * 1024 * 1024,
  });
  server.addService(UserServiceService, users.implementation);
  server.addService(ContentServiceService, content.implementation);
  server.addService(PaymentServiceService, payments.implementation);
  const port = await server.start();
  return {
    target: `127.0.0.1:${port}`,
    users,
    content,
    payments,
    server,
    publish,
    async close() {
      await server.shutdown({ graceMs: 500 });
      await publisher.quit();
    },
  };
}

export interface GatewayUnderTest {
  readonly app: FastifyInstance;
  readonly config: GatewayConfig;
  /** `http://127.0.0.1:<port>` once listening (`listen: true`). */
  readonly url: string;
}

export interface StartGatewayOptions {
  readonly target: string;
  readonly keyPrefix: string;
  readonly listen?: boolean;
  readonly env?: Record<string, string>;
  readonly logger?: Logger;
}

export async function startGateway(options: StartGatewayOptions): Promise<GatewayUnderTest> {
  const config = loadConfig(gatewayConfigSchema, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.GATEWAY_TEST_LOG_LEVEL ?? 'silent',
    REDIS_GATEWAY_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: options.keyPrefix,
    USER_SERVICE_URL: options.target,
    PAYMENT_SERVICE_URL: options.target,
    CONTENT_SERVICE_URL: options.target,
    JWT_ISSUER: FAKE_ISSUER,
    JWT_AUDIENCE: FAKE_AUDIENCE,
    MEDIA_MAX_BYTES: String(256 * 1024),
    DOWNSTREAM_DEADLINE_MS: '2000',
    ...options.env,
  });
  const logger = options.logger ?? createLogger({ name: 'gateway-test', level: config.LOG_LEVEL });
  const app = await buildApp({ config, logger });
  let url = '';
  if (options.listen) {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    url = address;
  } else {
    await app.ready();
  }
  return { app, config, url };
}

/** A unique key prefix per suite, and a way to delete what it wrote. */
export function uniquePrefix(): string {
  return `test:gateway:${randomUUID()}`;
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/** Registers a user through the gateway and signs them in; returns their id and bearer header. */
export async function signUp(
  app: FastifyInstance,
  name = 'Test User',
): Promise<{
  id: string;
  email: string;
  password: string;
  authorization: string;
  accessToken: string;
}> {
  const email = `${randomUUID()}@example.test`;
  const password = 'correct horse battery';
  const registered = await app.inject({
    method: 'POST',
    url: '/v1/users',
    payload: { email, password, name },
  });
  if (registered.statusCode !== 201)
    throw new Error(`register failed: ${registered.statusCode} ${registered.body}`);
  const login = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password },
  });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
  const { accessToken } = login.json<{ accessToken: string }>();
  return {
    id: registered.json<{ id: string }>().id,
    email,
    password,
    accessToken,
    authorization: `Bearer ${accessToken}`,
  };
}

/** What {@link useGatewaySuite} hands a suite; read the properties inside tests and hooks. */
export interface GatewaySuite {
  readonly fakes: FakeServices;
  readonly gateway: GatewayUnderTest;
  /** The suite's own Redis key prefix (its keys are deleted after the suite). */
  readonly prefix: string;
}

/**
 * The usual suite setup: registers `beforeAll` (fake services, then one gateway in front of them
 * under a key prefix of the suite's own) and `afterAll` (gateway, fakes, then the prefix's keys).
 * Call it at the top of a `describe`; hooks the suite adds afterwards run once both are up.
 */
export function useGatewaySuite(
  options: Omit<StartGatewayOptions, 'target' | 'keyPrefix'> = {},
): GatewaySuite {
  const prefix = uniquePrefix();
  let fakes: FakeServices | undefined;
  let gateway: GatewayUnderTest | undefined;
  beforeAll(async () => {
    fakes = await startFakeServices();
    gateway = await startGateway({ ...options, target: fakes.target, keyPrefix: prefix });
  });
  afterAll(async () => {
    await gateway?.app.close();
    await fakes?.close();
    await deleteKeys(prefix);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useGatewaySuite: read it inside a test or hook');
    return value;
  };
  return {
    prefix,
    get fakes() {
      return started(fakes);
    },
    get gateway() {
      return started(gateway);
    },
  };
}
