import {
  clientChannelOptions,
  clientServiceConfig,
  GRPC_DEFAULTS,
  serverChannelOptions,
} from './index';

describe('client channel options', () => {
  it('uses round_robin, retries only UNAVAILABLE with at most 5 attempts, and throttles retries', () => {
    const options = clientChannelOptions();
    const serviceConfig: unknown = JSON.parse(String(options['grpc.service_config']));
    expect(serviceConfig).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
      methodConfig: [
        {
          name: [{}],
          retryPolicy: {
            maxAttempts: 4,
            initialBackoff: '0.1s',
            maxBackoff: '1s',
            backoffMultiplier: 2,
            retryableStatusCodes: ['UNAVAILABLE'],
          },
        },
      ],
      retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
    });
    expect(options['grpc.enable_retries']).toBe(1);
    expect(options['grpc.service_config_disable_resolution']).toBe(1);
  });

  it('keeps client keepalive within the server ping policy', () => {
    const client = clientChannelOptions();
    const server = serverChannelOptions({});
    expect(client['grpc.keepalive_time_ms']).toBeGreaterThanOrEqual(
      server['grpc.http2.min_ping_interval_without_data_ms'] as number,
    );
    expect(server['grpc.keepalive_permit_without_calls']).toBe(1);
    expect(() => clientChannelOptions({ keepalive: { timeMs: 1_000 } })).toThrow(/too_many_pings/);
    expect(() =>
      clientChannelOptions({ keepalive: { timeMs: 1_000 }, serverMinPingIntervalMs: 500 }),
    ).not.toThrow();
  });

  it('refuses more than 5 attempts and can turn retries off', () => {
    expect(() => clientServiceConfig({ retry: { maxAttempts: 6 } })).toThrow(RangeError);
    expect(clientServiceConfig({ retry: false, retryThrottling: false })).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
    });
    expect(clientServiceConfig({ retry: { initialBackoffMs: 25 } })).toMatchObject({
      methodConfig: [{ retryPolicy: { initialBackoff: '0.025s' } }],
    });
  });
});

describe('server channel options', () => {
  it('sets connection age so clients re-resolve, and the documented defaults', () => {
    expect(serverChannelOptions({})).toEqual({
      'grpc.max_connection_age_ms': GRPC_DEFAULTS.maxConnectionAgeMs,
      'grpc.max_connection_age_grace_ms': GRPC_DEFAULTS.maxConnectionAgeGraceMs,
      'grpc.keepalive_time_ms': GRPC_DEFAULTS.serverKeepaliveTimeMs,
      'grpc.keepalive_timeout_ms': GRPC_DEFAULTS.serverKeepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': GRPC_DEFAULTS.minPingIntervalWithoutDataMs,
      'grpc.max_receive_message_length': GRPC_DEFAULTS.maxReceiveMessageLength,
    });
    expect(
      serverChannelOptions({ maxConnectionAgeMs: 5_000, maxReceiveMessageLength: 1024 }),
    ).toMatchObject({
      'grpc.max_connection_age_ms': 5_000,
      'grpc.max_receive_message_length': 1024,
    });
  });
});
