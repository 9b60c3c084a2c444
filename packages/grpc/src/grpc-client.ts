import {
  Metadata,
  credentials as grpcCredentials,
  status,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientOptions,
  type ClientUnaryCall,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { outgoingContextHeaders } from '@strata/logger';
import { currentInboundCall } from './call-scope';
import { GRPC_DEFAULTS } from './defaults';

/** The retry policy of gRFC A6; only UNAVAILABLE is ever retried. */
export interface RetryPolicyOptions {
  /** Total attempts including the first, 2..5 (grpc-js caps at 5 anyway). */
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  backoffMultiplier?: number;
}

export interface RetryThrottlingOptions {
  maxTokens: number;
  tokenRatio: number;
}

export interface ClientKeepaliveOptions {
  timeMs?: number;
  timeoutMs?: number;
  permitWithoutCalls?: boolean;
}

export interface GrpcChannelConfig {
  /** `dns:///user:50051` (headless Service, one subchannel per pod) or `host:port`. */
  target: string;
  /** Retry policy, or `false` for none. */
  retry?: RetryPolicyOptions | false;
  retryThrottling?: RetryThrottlingOptions | false;
  keepalive?: ClientKeepaliveOptions;
  /** The server's declared minimum ping interval; keepalive below it is refused at creation. */
  serverMinPingIntervalMs?: number;
  /** `round_robin` (default) spreads calls over every resolved address; `pick_first` uses one. */
  loadBalancing?: 'round_robin' | 'pick_first';
  /** Extra grpc-js channel options, applied last. */
  channelOptions?: ChannelOptions;
}

export interface GrpcClientOptions extends GrpcChannelConfig {
  /** Deadline for calls whose caller gives none. */
  defaultDeadlineMs?: number;
  /** Insecure by default (traffic stays inside the cluster network). */
  credentials?: ChannelCredentials;
}

function seconds(ms: number): string {
  // Service config durations are decimal seconds with an `s` suffix.
  return `${Number((ms / 1000).toFixed(9))}s`;
}

/** The JSON service config the client uses (gRFC A2/A6), exported for inspection and docs. */
export function clientServiceConfig(
  config: Omit<GrpcChannelConfig, 'target'> = {},
): Record<string, unknown> {
  const serviceConfig: Record<string, unknown> = {
    loadBalancingConfig: [{ [config.loadBalancing ?? 'round_robin']: {} }],
  };
  if (config.retry !== false) {
    const retry = { ...GRPC_DEFAULTS.retry, ...config.retry };
    if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 2 || retry.maxAttempts > 5) {
      throw new RangeError(
        `retry.maxAttempts must be an integer from 2 to 5, got ${retry.maxAttempts}`,
      );
    }
    serviceConfig.methodConfig = [
      {
        // An empty name matches every method of every service on the channel.
        name: [{}],
        retryPolicy: {
          maxAttempts: retry.maxAttempts,
          initialBackoff: seconds(retry.initialBackoffMs),
          maxBackoff: seconds(retry.maxBackoffMs),
          backoffMultiplier: retry.backoffMultiplier,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ];
  }
  if (config.retryThrottling !== false) {
    serviceConfig.retryThrottling = config.retryThrottling ?? { ...GRPC_DEFAULTS.retryThrottling };
  }
  return serviceConfig;
}

/** The grpc-js channel options the client uses. Throws if keepalive breaks the server's policy. */
export function clientChannelOptions(
  config: Omit<GrpcChannelConfig, 'target'> = {},
): ChannelOptions {
  const keepaliveTimeMs = config.keepalive?.timeMs ?? GRPC_DEFAULTS.clientKeepaliveTimeMs;
  const minPingIntervalMs =
    config.serverMinPingIntervalMs ?? GRPC_DEFAULTS.minPingIntervalWithoutDataMs;
  if (keepaliveTimeMs < minPingIntervalMs) {
    throw new RangeError(
      `keepalive.timeMs (${keepaliveTimeMs}) is below the server's minimum ping interval (${minPingIntervalMs}); ` +
        'servers enforcing the policy would close the connection with too_many_pings',
    );
  }
  return {
    'grpc.service_config': JSON.stringify(clientServiceConfig(config)),
    // Our config is the only one: no DNS TXT lookups for one (slow, and not ours to trust).
    'grpc.service_config_disable_resolution': 1,
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': keepaliveTimeMs,
    'grpc.keepalive_timeout_ms':
      config.keepalive?.timeoutMs ?? GRPC_DEFAULTS.clientKeepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': (config.keepalive?.permitWithoutCalls ?? true) ? 1 : 0,
    ...config.channelOptions,
  };
}

/** Per-call options of the promise API. */
export interface UnaryCallOptions {
  /** Absolute deadline; wins over `timeoutMs`. */
  deadline?: Date | number;
  /** Relative deadline in ms; defaults to the client's `defaultDeadlineMs`. */
  timeoutMs?: number;
  /** Aborting it cancels the call (the server's handler sees its own signal abort). */
  signal?: AbortSignal;
  /** Extra metadata; the current request context is added unless already present. */
  metadata?: Metadata;
}

export type UnaryCallback<Response> = (error: ServiceError | null, response: Response) => void;

/** The 4-argument overload every generated (ts-proto, grpc-js) unary client method has. */
export type UnaryClientMethod<Request, Response> = (
  request: Request,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: UnaryCallback<Response>,
) => ClientUnaryCall;

function cancelledError(reason: unknown): ServiceError {
  const details = reason instanceof Error ? reason.message : 'call cancelled before it started';
  return Object.assign(new Error(`${status.CANCELLED} CANCELLED: ${details}`), {
    code: status.CANCELLED,
    details,
    metadata: new Metadata(),
  });
}

function resolveDeadline(options: UnaryCallOptions, defaultDeadlineMs: number): number {
  const own =
    options.deadline instanceof Date
      ? options.deadline.getTime()
      : (options.deadline ?? Date.now() + (options.timeoutMs ?? defaultDeadlineMs));
  // An outgoing call made while handling an incoming one never outlives the incoming deadline.
  const inbound = currentInboundCall();
  return inbound ? Math.min(own, inbound.deadlineMs) : own;
}

function resolveSignal(own: AbortSignal | undefined): AbortSignal | undefined {
  const inbound = currentInboundCall()?.signal;
  if (own && inbound) return AbortSignal.any([own, inbound]);
  return own ?? inbound;
}

function withContextHeaders(metadata: Metadata | undefined): Metadata {
  const outgoing = metadata ? metadata.clone() : new Metadata();
  for (const [key, value] of Object.entries(outgoingContextHeaders())) {
    if (outgoing.get(key).length === 0) outgoing.set(key, value);
  }
  return outgoing;
}

/**
 * Makes one unary call and returns a promise: a deadline always (the caller's, else
 * `defaultDeadlineMs`, never later than the deadline of the call being handled), the current
 * request context in the metadata, and `signal` wired to `call.cancel()`. Rejects with the
 * grpc-js `ServiceError` (use {@link grpcErrorReason} for the server's reason).
 *
 * @example
 * const user = await callUnary(client.getUser.bind(client), { id }, { timeoutMs: 500 });
 */
export function callUnary<Request, Response>(
  method: UnaryClientMethod<Request, Response>,
  request: Request,
  options: UnaryCallOptions & { defaultDeadlineMs?: number } = {},
): Promise<Response> {
  const deadline = resolveDeadline(options, options.defaultDeadlineMs ?? GRPC_DEFAULTS.deadlineMs);
  const signal = resolveSignal(options.signal);
  if (signal?.aborted) return Promise.reject(cancelledError(signal.reason));
  const metadata = withContextHeaders(options.metadata);
  return new Promise<Response>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const call = method(request, metadata, { deadline }, (error, response) => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(response);
    });
    if (signal) {
      onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/** A generated client class (ts-proto `outputServices=grpc-js`, or `makeGenericClientConstructor`). */
export interface GrpcClientConstructor<C extends Client> {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): C;
  readonly service: ServiceDefinition;
}

/**
 * `[Request, Response]` of a generated unary method, `never` for anything else. Matched on the
 * last overload (the one TypeScript infers from) and on its callback: a server-streaming method
 * also returns something call-like, but has no callback parameter.
 */
export type UnaryMethodTypes<M> = M extends (
  request: infer Request,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: infer Callback,
) => ClientUnaryCall
  ? Callback extends (error: ServiceError | null, response: infer Response) => void
    ? [Request, Response]
    : never
  : never;

/**
 * The promise API of a generated client: each unary method `m(request, callback)` becomes
 * `m(request, options?) => Promise<Response>`. Streaming methods are left to `raw`.
 */
export type PromiseClient<C> = {
  [K in Exclude<keyof C, keyof Client> as UnaryMethodTypes<C[K]> extends never ? never : K]: (
    request: UnaryMethodTypes<C[K]>[0],
    options?: UnaryCallOptions,
  ) => Promise<UnaryMethodTypes<C[K]>[1]>;
};

export type GrpcClient<C extends Client> = PromiseClient<C> & {
  /** The generated client itself (streaming calls, channel state). */
  readonly raw: C;
  /** Closes the channel. */
  close(): void;
};

/**
 * A client with the platform's channel settings (see {@link clientChannelOptions}) and a promise
 * API over its unary methods.
 *
 * @example
 * const users = createGrpcClient(UserServiceClient, { target: 'dns:///user:50051' });
 * const { user } = await users.getUser({ id }, { timeoutMs: 300, signal });
 * users.close();
 */
export function createGrpcClient<C extends Client>(
  ClientClass: GrpcClientConstructor<C>,
  options: GrpcClientOptions,
): GrpcClient<C> {
  const raw = new ClientClass(
    options.target,
    options.credentials ?? grpcCredentials.createInsecure(),
    clientChannelOptions(options),
  );
  const defaultDeadlineMs = options.defaultDeadlineMs ?? GRPC_DEFAULTS.deadlineMs;
  const wrapper: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const [name, definition] of Object.entries(ClientClass.service)) {
    if (definition.requestStream || definition.responseStream) continue;
    if (name in wrapper)
      throw new Error(`gRPC method name "${name}" collides with the client wrapper's own`);
    const method: unknown = Reflect.get(raw, name);
    if (typeof method !== 'function') continue;
    const bound = (method as UnaryClientMethod<unknown, unknown>).bind(raw);
    wrapper[name] = (request: unknown, callOptions: UnaryCallOptions = {}) =>
      callUnary(bound, request, { defaultDeadlineMs, ...callOptions });
  }
  return wrapper as GrpcClient<C>;
}
