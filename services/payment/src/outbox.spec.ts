import { contextFrom, runWithContext } from '@strata/logger';
import { enqueueInTransaction, type OutboxTransactionClient } from '@strata/queue';
import { outboxRow } from './outbox';
import { settlePaymentJob } from './settlement/payment.jobs';

/** What enqueueInTransaction sends: the INSERT's text and its values. */
async function kitRow(payload: { paymentId: string }): Promise<{ sql: string; values: unknown[] }> {
  let captured: { sql: string; values: unknown[] } | undefined;
  const tx: OutboxTransactionClient = {
    $executeRaw: (query, ...values) => {
      captured = { sql: query.join('?').replace(/\s+/g, ' ').trim(), values };
      return Promise.resolve(1);
    },
    $queryRaw: () => Promise.reject(new Error('not used')),
  };
  await enqueueInTransaction(tx, settlePaymentJob, payload);
  if (!captured) throw new Error('enqueueInTransaction wrote nothing');
  return captured;
}

describe('outboxRow', () => {
  const payload = { paymentId: '3f0c1f7e-8a39-4a4e-9d59-5c1e0f6b2a10' };

  it.each([
    ['outside a request', undefined],
    [
      'inside a request',
      contextFrom({
        requestId: 'req-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      }),
    ],
  ])('writes the same row as @strata/queue enqueueInTransaction (%s)', async (_label, context) => {
    const run = <T>(work: () => T): T => (context ? runWithContext(context, work) : work());
    const kit = await run(() => kitRow(payload));
    const ours = await run(() => outboxRow(settlePaymentJob, payload));
    // The kit's column list and casts, which the CTE in create-payment.repository.ts repeats.
    expect(kit.sql).toBe(
      'INSERT INTO outbox_events (id, queue, name, payload, context, options, delay_ms) VALUES (?::uuid, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?)',
    );
    expect(kit.values.slice(1)).toEqual([
      ours.queue,
      ours.name,
      ours.payload,
      ours.context,
      ours.options,
      ours.delayMs,
    ]);
    expect(ours.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a payload the job definition would reject', async () => {
    await expect(outboxRow(settlePaymentJob, { paymentId: 'not-a-uuid' })).rejects.toThrow();
  });
});
