import { Metadata } from '@grpc/grpc-js';
import {
  ContentServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  PaymentServiceClient,
  UserServiceClient,
} from '@strata/contracts';
import { createGrpcClient, type GrpcClient, type UnaryCallOptions } from '@strata/grpc';
import { REQUEST_ID_HEADER, TRACEPARENT_HEADER, isValidTraceparent } from '@strata/logger';
import { type FastifyRequest } from 'fastify';

export interface DownstreamTargets {
  user: string;
  payment: string;
  content: string;
}

export interface DownstreamOptions {
  targets: DownstreamTargets;
  deadlineMs: number;
  /** Largest upload; the content client must send (and receive) messages of that size. */
  mediaMaxBytes: number;
}

/** The three services the gateway calls, plus their `grpc.health.v1` endpoints for /readyz. */
export interface Downstream {
  readonly users: GrpcClient<UserServiceClient>;
  readonly payments: GrpcClient<PaymentServiceClient>;
  readonly content: GrpcClient<ContentServiceClient>;
  readonly deadlineMs: number;
  /** True when every service's health check answers SERVING within `timeoutMs`. */
  healthy(timeoutMs: number): Promise<Record<string, boolean>>;
  close(): void;
}

// Room for the message framing and the other fields next to the bytes (content.proto asks for
// the limit plus 64 KiB).
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

export function createDownstream(options: DownstreamOptions): Downstream {
  const common = { defaultDeadlineMs: options.deadlineMs };
  const users = createGrpcClient(UserServiceClient, { ...common, target: options.targets.user });
  const payments = createGrpcClient(PaymentServiceClient, {
    ...common,
    target: options.targets.payment,
  });
  const messageLimit = options.mediaMaxBytes + MESSAGE_OVERHEAD_BYTES;
  const content = createGrpcClient(ContentServiceClient, {
    ...common,
    target: options.targets.content,
    channelOptions: {
      'grpc.max_send_message_length': messageLimit,
      'grpc.max_receive_message_length': messageLimit,
    },
  });
  // Health probes must not be retried into a long wait: one attempt, short deadline.
  const targets: Array<[string, string]> = [
    ['user', options.targets.user],
    ['payment', options.targets.payment],
    ['content', options.targets.content],
  ];
  const healthClients = targets.map(
    ([name, target]) => [name, createGrpcClient(HealthClient, { target, retry: false })] as const,
  );
  return {
    users,
    payments,
    content,
    deadlineMs: options.deadlineMs,
    async healthy(timeoutMs) {
      const results = await Promise.all(
        healthClients.map(async ([name, client]) => {
          try {
            const response = await client.check({ service: '' }, { timeoutMs });
            return [name, response.status === HealthCheckResponse_ServingStatus.SERVING] as const;
          } catch {
            return [name, false] as const;
          }
        }),
      );
      return Object.fromEntries(results);
    },
    close() {
      for (const client of [
        users,
        payments,
        content,
        ...healthClients.map(([, client]) => client),
      ]) {
        client.close();
      }
    },
  };
}

/**
 * Options for one downstream call made for `request`: the request id and traceparent in the
 * metadata (passed explicitly: AsyncLocalStorage does not survive Fastify's body parsing), the
 * route's deadline, and cancellation when the client goes away.
 */
export function callOptionsFor(request: FastifyRequest, timeoutMs?: number): UnaryCallOptions {
  const metadata = new Metadata();
  metadata.set(REQUEST_ID_HEADER, request.id);
  const traceparent = request.headers[TRACEPARENT_HEADER];
  if (isValidTraceparent(traceparent)) metadata.set(TRACEPARENT_HEADER, traceparent);
  const options: UnaryCallOptions = { metadata, signal: request.cancellation.signal };
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  return options;
}
