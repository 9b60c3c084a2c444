// Retries are the channel's (service config, gRFC A6), not a loop of ours: these tests count the
// attempts that reach a real server.
import { status } from '@grpc/grpc-js';
import { DomainError, invalidArgument } from './index';
import { expectServiceError } from './testing/expect-error';
import { startEchoServer, type Harness } from './testing/harness';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const FAST_RETRY = { initialBackoffMs: 10, maxBackoffMs: 50 };

async function serverFailingFirst(failures: number, failure: () => DomainError) {
  const attempts = new Map<string, number>();
  harness = await startEchoServer({
    echo: (request) => {
      const attempt = (attempts.get(request.text) ?? 0) + 1;
      attempts.set(request.text, attempt);
      return attempt <= failures
        ? Promise.reject(failure())
        : Promise.resolve({ text: request.text, attempt });
    },
  });
  return attempts;
}

describe('client retries', () => {
  it('retries UNAVAILABLE until the call succeeds', async () => {
    const attempts = await serverFailingFirst(
      2,
      () => new DomainError(status.UNAVAILABLE, 'warming up'),
    );
    const client = harness!.client({ retry: FAST_RETRY });

    const response = await client.echo({ text: 'retry-me' });

    expect(response).toEqual({ text: 'retry-me', attempt: 3 });
    expect(attempts.get('retry-me')).toBe(3);
  });

  it('does not retry INVALID_ARGUMENT: exactly one attempt', async () => {
    const attempts = await serverFailingFirst(1, () => invalidArgument('text', 'is wrong'));
    const client = harness!.client({ retry: FAST_RETRY });

    const error = await expectServiceError(client.echo({ text: 'bad' }));

    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(attempts.get('bad')).toBe(1);
  });

  it('gives up after maxAttempts and returns the last UNAVAILABLE', async () => {
    const attempts = await serverFailingFirst(
      100,
      () => new DomainError(status.UNAVAILABLE, 'down'),
    );
    const client = harness!.client({ retry: { ...FAST_RETRY, maxAttempts: 3 } });

    const error = await expectServiceError(client.echo({ text: 'never' }));

    expect(error.code).toBe(status.UNAVAILABLE);
    expect(attempts.get('never')).toBe(3);
  });

  it('retries over a dns:/// target with round_robin', async () => {
    const attempts = await serverFailingFirst(
      1,
      () => new DomainError(status.UNAVAILABLE, 'warming up'),
    );
    const client = harness!.client({
      target: `dns:///localhost:${harness!.port}`,
      retry: FAST_RETRY,
    });

    await expect(client.echo({ text: 'via-dns' })).resolves.toEqual({
      text: 'via-dns',
      attempt: 2,
    });
    expect(attempts.get('via-dns')).toBe(2);
  });

  it('with retries off, UNAVAILABLE is returned after one attempt', async () => {
    const attempts = await serverFailingFirst(
      1,
      () => new DomainError(status.UNAVAILABLE, 'warming up'),
    );
    const client = harness!.client({ retry: false });

    const error = await expectServiceError(client.echo({ text: 'once' }));

    expect(error.code).toBe(status.UNAVAILABLE);
    expect(attempts.get('once')).toBe(1);
  });
});
