import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { paymentV1 } from '@strata/contracts';
import { grpcErrorField, grpcErrorReason, isServiceError } from '@strata/grpc';
import { idempotencyLockKey } from '../idempotency/idempotency.repository';
import { outboxRow } from '../outbox';
import { settlePaymentJob } from '../settlement/payment.jobs';
import { actor, startPaymentStack, type PaymentStack } from '../testing/payment.harness';
import { insertPayments, type PaymentInsert } from './create-payment.repository';

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; reason: string | undefined; field: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return { code: error.code, reason: grpcErrorReason(error), field: grpcErrorField(error) };
  }
  throw new Error('expected the call to fail');
}

async function count(stack: PaymentStack, table: string): Promise<number> {
  // Outbox rows of CreatePayment only: the worker settling earlier payments in the background
  // adds receipt emails to the outbox at any moment.
  const where = table === 'outbox_events' ? ` WHERE queue = '${settlePaymentJob.queue}'` : '';
  const { rows } = await stack.sql.query<{ count: string }>(
    `SELECT count(*) FROM ${table}${where}`,
  );
  return Number(rows[0].count);
}

describe('CreatePayment idempotency', () => {
  let stack: PaymentStack;
  beforeAll(async () => {
    stack = await startPaymentStack('payment_create', { withWorker: true });
  }, 60_000);
  afterAll(async () => stack.close());

  it('50 concurrent creates with one key: one payment, one charge, one ledger transaction (acceptance 1)', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const request = {
      idempotencyKey: 'tip-50',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 1_234, currency: 'EUR' },
      note: 'thanks',
    };
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => stack.client.createPayment(request)),
    );

    const succeeded = results.flatMap((result) =>
      result.status === 'fulfilled' ? [result.value] : [],
    );
    const rejected = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    // Every success is the stored response, byte for byte.
    const encodings = new Set(
      succeeded.map((response) =>
        Buffer.from(paymentV1.CreatePaymentResponse.encode(response).finish()).toString('hex'),
      ),
    );
    expect(encodings.size).toBe(1);
    // Every failure is the in-flight conflict, nothing else.
    for (const error of rejected) {
      expect(isServiceError(error) && error.code).toBe(status.ABORTED);
      expect(grpcErrorReason(error)).toBe('ERROR_REASON_IDEMPOTENCY_REQUEST_IN_FLIGHT');
    }
    const paymentId = succeeded[0].payment!.id;
    expect(succeeded[0].payment!.status).toBe(paymentV1.PaymentStatus.PENDING);

    // A later retry returns the same stored bytes although the payment has moved on.
    await stack.eventually(async () => {
      const { payment } = await stack.client.getPayment({ actor: actor(payer), paymentId });
      return payment?.status === paymentV1.PaymentStatus.SETTLED ? payment : undefined;
    });
    const retry = await stack.client.createPayment(request);
    expect(
      Buffer.from(paymentV1.CreatePaymentResponse.encode(retry).finish()).toString('hex'),
    ).toBe([...encodings][0]);

    const payments = await stack.sql.query('SELECT id FROM payments WHERE payer_id = $1', [payer]);
    expect(payments.rows).toEqual([{ id: paymentId }]);
    expect(await stack.psp.charges(paymentId)).toHaveLength(1);
    const transactions = await stack.sql.query(
      'SELECT kind FROM ledger_transactions WHERE payment_id = $1',
      [paymentId],
    );
    expect(transactions.rows).toEqual([{ kind: 'settlement' }]);
  });

  it('same key with a different body is rejected and writes nothing (acceptance 2)', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const request = {
      idempotencyKey: 'tip-reuse',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 500, currency: 'EUR' },
    };
    await stack.client.createPayment(request);
    const before = await Promise.all(
      ['payments', 'idempotency_keys', 'outbox_events'].map((table) => count(stack, table)),
    );
    const storedBefore = await stack.sql.query(
      'SELECT request_hash, response FROM idempotency_keys WHERE actor_id = $1',
      [payer],
    );

    for (const changed of [
      { ...request, amount: { amountMinor: 501, currency: 'EUR' } },
      { ...request, amount: { amountMinor: 500, currency: 'USD' } },
      { ...request, note: 'another note' },
    ]) {
      const error = await failure(stack.client.createPayment(changed));
      expect(error).toEqual({
        code: status.FAILED_PRECONDITION,
        reason: 'ERROR_REASON_IDEMPOTENCY_KEY_REUSED',
        field: undefined,
      });
    }
    const after = await Promise.all(
      ['payments', 'idempotency_keys', 'outbox_events'].map((table) => count(stack, table)),
    );
    expect(after).toEqual(before);
    const storedAfter = await stack.sql.query(
      'SELECT request_hash, response FROM idempotency_keys WHERE actor_id = $1',
      [payer],
    );
    expect(storedAfter.rows).toEqual(storedBefore.rows);
  });

  it('answers ABORTED / IDEMPOTENCY_REQUEST_IN_FLIGHT while the first request holds the key', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const request = {
      idempotencyKey: 'tip-busy',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 700, currency: 'GBP' },
    };
    // Stand in for a first request mid-transaction: hold the same advisory lock from another session.
    const session = await stack.sql.connect();
    try {
      await session.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
        idempotencyLockKey('create_payment', payer, 'tip-busy'),
      ]);
      expect(await failure(stack.client.createPayment(request))).toEqual({
        code: status.ABORTED,
        reason: 'ERROR_REASON_IDEMPOTENCY_REQUEST_IN_FLIGHT',
        field: undefined,
      });
      await session.query('SELECT pg_advisory_unlock_all()');
    } finally {
      session.release();
    }
    const created = await stack.client.createPayment(request);
    expect(created.payment?.amount).toEqual({ amountMinor: 700, currency: 'GBP' });
  });

  it('same key, different body naming an unknown payee: KEY_REUSED, not a payee error', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const request = {
      idempotencyKey: 'tip-unknown-payee',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 900, currency: 'EUR' },
    };
    const first = await stack.client.createPayment(request);
    const error = await failure(
      stack.client.createPayment({ ...request, payeeId: '6c5b7a0e-1d2f-4a3b-8c9d-0e1f2a3b4c5d' }),
    );
    expect(error).toEqual({
      code: status.FAILED_PRECONDITION,
      reason: 'ERROR_REASON_IDEMPOTENCY_KEY_REUSED',
      field: undefined,
    });
    // The same body still replays.
    const again = await stack.client.createPayment(request);
    expect(again.payment?.id).toBe(first.payment?.id);
  });

  it('the stored response is what the committed row reads back as', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const created = await stack.client.createPayment({
      idempotencyKey: 'tip-readback',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 4_321, currency: 'USD' },
      articleId: 'article-1',
      note: 'merci ✨',
    });
    const { rows } = await stack.sql.query<{
      created_at: Date;
      updated_at: Date;
      status: string;
      note: string;
      article_id: string;
    }>('SELECT created_at, updated_at, status, note, article_id FROM payments WHERE id = $1', [
      created.payment!.id,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].created_at.getTime()).toBe(created.payment!.createTime!.getTime());
    expect(rows[0]).toMatchObject({ note: 'merci ✨', article_id: 'article-1' });
    const outbox = await stack.sql.query<{ queue: string; name: string; payload: unknown }>(
      "SELECT queue, name, payload FROM outbox_events WHERE payload->>'paymentId' = $1",
      [created.payment!.id],
    );
    expect(outbox.rows).toEqual([
      {
        queue: 'payment-settlement',
        name: 'settle-payment',
        payload: { paymentId: created.payment!.id },
      },
    ]);
  });

  it('an expired key can be used again (a new payment), a live one cannot', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const request = {
      idempotencyKey: 'tip-expired',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 600, currency: 'EUR' },
    };
    const first = await stack.client.createPayment(request);
    await stack.sql.query(
      "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE actor_id = $1",
      [payer],
    );
    const second = await stack.client.createPayment({
      ...request,
      amount: { amountMinor: 601, currency: 'EUR' },
    });
    expect(second.payment?.id).not.toBe(first.payment?.id);
    const stored = await stack.sql.query<{ resource_id: string }>(
      'SELECT resource_id FROM idempotency_keys WHERE actor_id = $1',
      [payer],
    );
    expect(stored.rows).toEqual([{ resource_id: second.payment!.id }]);
    const again = await stack.client.createPayment({
      ...request,
      amount: { amountMinor: 601, currency: 'EUR' },
    });
    expect(again.payment?.id).toBe(second.payment?.id);
  });

  it('keys are scoped to the payer', async () => {
    const payee = stack.newUser();
    const [first, second] = [stack.newUser(), stack.newUser()];
    const body = {
      idempotencyKey: 'same-key',
      payeeId: payee,
      amount: { amountMinor: 300, currency: 'USD' },
    };
    const a = await stack.client.createPayment({ ...body, actor: actor(first) });
    const b = await stack.client.createPayment({ ...body, actor: actor(second) });
    expect(a.payment?.id).not.toBe(b.payment?.id);
  });

  it('validates the request before writing anything', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const base = {
      idempotencyKey: 'v',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 500, currency: 'EUR' },
    };
    const before = await count(stack, 'payments');
    expect(await failure(stack.client.createPayment({ ...base, actor: undefined }))).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    expect(
      await failure(stack.client.createPayment({ ...base, idempotencyKey: '' })),
    ).toMatchObject({ field: 'idempotency_key' });
    expect(await failure(stack.client.createPayment({ ...base, payeeId: payer }))).toMatchObject({
      field: 'payee_id',
    });
    expect(
      await failure(
        stack.client.createPayment({ ...base, payeeId: '6c5b7a0e-1d2f-4a3b-8c9d-0e1f2a3b4c5d' }),
      ),
    ).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'payee_id',
    });
    expect(
      await failure(
        stack.client.createPayment({ ...base, amount: { amountMinor: 99, currency: 'EUR' } }),
      ),
    ).toMatchObject({
      field: 'amount.amount_minor',
    });
    expect(
      await failure(
        stack.client.createPayment({
          ...base,
          amount: { amountMinor: 1_000_001, currency: 'EUR' },
        }),
      ),
    ).toMatchObject({
      field: 'amount.amount_minor',
    });
    expect(
      await failure(
        stack.client.createPayment({ ...base, amount: { amountMinor: 500, currency: 'JPY' } }),
      ),
    ).toMatchObject({
      field: 'amount.currency',
    });
    expect(
      await failure(stack.client.createPayment({ ...base, note: 'x'.repeat(281) })),
    ).toMatchObject({ field: 'note' });
    expect(
      await failure(stack.client.createPayment({ ...base, articleId: 'a'.repeat(65) })),
    ).toMatchObject({ field: 'article_id' });
    expect(await count(stack, 'payments')).toBe(before);
  });
});

describe('insertPayments: the creates in flight written as one statement', () => {
  let stack: PaymentStack;
  beforeAll(async () => {
    // No worker: the rows stay as written.
    stack = await startPaymentStack('payment_create_batch');
  }, 60_000);
  afterAll(async () => stack.close());

  async function paymentInsert(payerId: string, key: string): Promise<PaymentInsert> {
    const id = randomUUID();
    return {
      payment: {
        id,
        payerId,
        payeeId: stack.newUser(),
        amountMinor: 700,
        currency: 'EUR',
        articleId: null,
        note: null,
        createdAt: new Date(),
      },
      idempotency: {
        key,
        requestHash: 'a'.repeat(64),
        response: Buffer.from(`response of ${id}`),
        ttlHours: 24,
      },
      outbox: await outboxRow(settlePaymentJob, { paymentId: id }),
    };
  }

  const ids = (inserts: readonly PaymentInsert[]) => inserts.map((insert) => insert.payment.id);

  async function written(inserts: readonly PaymentInsert[]) {
    const { rows } = await stack.sql.query<{
      payments: string;
      outbox: string;
      records: string;
      transactions: string;
    }>(
      `SELECT (SELECT count(*) FROM payments WHERE id = ANY($1::uuid[])) AS payments,
              (SELECT count(*) FROM outbox_events WHERE payload->>'paymentId' = ANY($1::text[])) AS outbox,
              (SELECT count(*) FROM idempotency_keys WHERE resource_id = ANY($1::uuid[])) AS records,
              (SELECT count(DISTINCT xmin::text) FROM payments WHERE id = ANY($1::uuid[])) AS transactions`,
      [ids(inserts)],
    );
    return {
      payments: Number(rows[0].payments),
      outbox: Number(rows[0].outbox),
      records: Number(rows[0].records),
      transactions: Number(rows[0].transactions),
    };
  }

  it('writes every input with its record and outbox row, in one transaction', async () => {
    const inserts = await Promise.all(
      Array.from({ length: 5 }, (_, index) => paymentInsert(stack.newUser(), `batch-${index}`)),
    );
    const outcomes = await insertPayments(stack.sql, inserts);
    expect(outcomes).toEqual(inserts.map(() => ({ kind: 'created' })));
    expect(await written(inserts)).toEqual({
      payments: 5,
      outbox: 5,
      records: 5,
      transactions: 1,
    });
    // Each record holds its own response, under its own key.
    const { rows } = await stack.sql.query<{ key: string; response: Buffer; resource: string }>(
      `SELECT key, response, resource_id::text AS resource FROM idempotency_keys
       WHERE resource_id = ANY($1::uuid[]) ORDER BY key`,
      [ids(inserts)],
    );
    expect(rows.map((row) => [row.key, row.resource, row.response.toString()])).toEqual(
      inserts.map((insert) => [
        insert.idempotency.key,
        insert.payment.id,
        `response of ${insert.payment.id}`,
      ]),
    );
  });

  it('writes a key mentioned twice once; the second mention is told to re-read the record', async () => {
    const payer = stack.newUser();
    const first = await paymentInsert(payer, 'twice');
    const again = await paymentInsert(payer, 'twice');
    const other = await paymentInsert(payer, 'once');
    const outcomes = await insertPayments(stack.sql, [first, again, other]);
    expect(outcomes).toEqual([
      { kind: 'created' },
      { kind: 'committed-meanwhile' },
      { kind: 'created' },
    ]);
    expect(await written([first, other])).toMatchObject({ payments: 2, records: 2 });
    expect(await written([again])).toMatchObject({ payments: 0, outbox: 0, records: 0 });
  });

  it('answers in-flight for a key locked by another transaction and writes the others', async () => {
    const payer = stack.newUser();
    const locked = await paymentInsert(payer, 'locked');
    const free = await paymentInsert(payer, 'free');
    const holder = await stack.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        idempotencyLockKey('create_payment', payer, 'locked'),
      ]);
      const outcomes = await insertPayments(stack.sql, [locked, free]);
      expect(outcomes).toEqual([{ kind: 'in-flight' }, { kind: 'created' }]);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await written([locked])).toMatchObject({ payments: 0, records: 0 });
    expect(await written([free])).toMatchObject({ payments: 1, records: 1, outbox: 1 });
  });

  it('replays a committed record for its key and writes nothing for it', async () => {
    const payer = stack.newUser();
    const original = await paymentInsert(payer, 'replayed');
    await insertPayments(stack.sql, [original]);
    const retry = await paymentInsert(payer, 'replayed');
    const [outcome] = await insertPayments(stack.sql, [retry]);
    expect(outcome).toMatchObject({ kind: 'stored', stored: { requestHash: 'a'.repeat(64) } });
    expect(outcome.kind === 'stored' && Buffer.from(outcome.stored.response).toString()).toBe(
      `response of ${original.payment.id}`,
    );
    expect(await written([retry])).toMatchObject({ payments: 0, records: 0 });
  });

  it('is all or nothing: one input the statement refuses leaves the whole batch unwritten', async () => {
    const good = await paymentInsert(stack.newUser(), 'good');
    const bad = await paymentInsert(stack.newUser(), 'bad');
    const refused: PaymentInsert = { ...bad, payment: { ...bad.payment, payeeId: 'not-a-uuid' } };
    await expect(insertPayments(stack.sql, [good, refused])).rejects.toThrow(/uuid/);
    expect(await written([good, bad])).toMatchObject({ payments: 0, outbox: 0, records: 0 });
  });
});
