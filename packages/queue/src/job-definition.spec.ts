import { Backoffs } from 'bullmq';
import { z } from 'zod';
import { InvalidJobPayloadError } from './errors';
import { DEFAULT_JOB_DEFAULTS, defineJob, type PayloadOf } from './job-definition';
import { jobOptionsFor } from './producer';

const sendEmail = defineJob({
  queue: 'email',
  name: 'send-email',
  schema: z.object({ toEmail: z.email(), template: z.string().min(1) }),
  defaults: { attempts: 8 },
});

describe('defineJob', () => {
  it('infers the payload type from a Standard Schema and validates with it', async () => {
    const payload: PayloadOf<typeof sendEmail> = { toEmail: 'a@example.com', template: 'welcome' };
    await expect(sendEmail.parse(payload)).resolves.toEqual(payload);
    const failure = await sendEmail
      .parse({ toEmail: 'nope', template: '' })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InvalidJobPayloadError);
    expect((failure as InvalidJobPayloadError).issues.join('\n')).toMatch(/toEmail/);
    expect((failure as InvalidJobPayloadError).issues.join('\n')).toMatch(/template/);
  });

  it('accepts a plain validating function', async () => {
    const definition = defineJob<{ count: number }>({
      queue: 'counter',
      name: 'count',
      schema: (input) => {
        const count = (input as { count?: unknown }).count;
        if (typeof count !== 'number') throw new Error('count must be a number');
        return { count };
      },
    });
    await expect(definition.parse({ count: 2 })).resolves.toEqual({ count: 2 });
    await expect(definition.parse({ count: 'two' })).rejects.toThrow(/count must be a number/);
  });

  it('rejects non-objects and the reserved context key even without a schema', async () => {
    const definition = defineJob<{ id: string }>({ queue: 'plain', name: 'plain' });
    await expect(definition.parse('x')).rejects.toBeInstanceOf(InvalidJobPayloadError);
    await expect(definition.parse([1])).rejects.toBeInstanceOf(InvalidJobPayloadError);
    await expect(definition.parse({ id: 'a', _context: {} })).rejects.toThrow(/reserved/);
    await expect(definition.parse({ id: 'a', _group: [] })).rejects.toThrow(/reserved/);
    await expect(definition.parse({ id: 'a' })).resolves.toEqual({ id: 'a' });
  });

  it('refuses names BullMQ or Redis keys cannot carry', () => {
    expect(() => defineJob({ queue: 'a:b', name: 'x' })).toThrow(/invalid queue/);
    expect(() => defineJob({ queue: 'ok', name: '' })).toThrow(/invalid name/);
    expect(() => defineJob({ queue: 'ok', name: 'x', defaults: { attempts: 0 } })).toThrow(
      /attempts/,
    );
    expect(() => defineJob({ queue: 'ok', name: 'x', grouping: { maxItems: 0 } })).toThrow(
      /maxItems/,
    );
    expect(defineJob({ queue: 'ok', name: 'x', grouping: { maxItems: 5 } }).grouping).toEqual({
      maxItems: 5,
    });
    expect(defineJob({ queue: 'ok', name: 'x' }).grouping).toBeUndefined();
  });

  it('merges defaults: failed jobs kept, completed bounded, exponential backoff with jitter', () => {
    expect(sendEmail.defaults.attempts).toBe(8);
    expect(sendEmail.defaults.removeOnFail).toBe(false);
    expect(sendEmail.defaults.removeOnComplete).toEqual({ age: 86_400, count: 10_000 });
    expect(sendEmail.defaults.backoff).toEqual({ type: 'exponential', delay: 1_000, jitter: 0.5 });
    expect(jobOptionsFor(sendEmail, { jobId: 'k', delay: 50 })).toEqual({
      attempts: 8,
      backoff: DEFAULT_JOB_DEFAULTS.backoff,
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: false,
      jobId: 'k',
      delay: 50,
    });
  });
});

describe('default backoff (computed by BullMQ itself)', () => {
  const backoff = DEFAULT_JOB_DEFAULTS.backoff;

  it('doubles per attempt and stays within [50 %, 100 %] of the exponential delay', () => {
    for (const attempt of [1, 2, 3, 4, 5]) {
      const ceiling = 1_000 * 2 ** (attempt - 1);
      const samples = Array.from({ length: 200 }, () => {
        // The built-in strategies are synchronous.
        const delay = Backoffs.calculate(backoff, attempt, new Error('x'), undefined as never);
        if (typeof delay !== 'number') throw new Error('expected a synchronous delay');
        return delay;
      });
      for (const delay of samples) {
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
      // Jitter: retries of many jobs failing together do not all land on the same instant.
      expect(new Set(samples).size).toBeGreaterThan(50);
    }
  });
});
