import path from 'node:path';
import { paymentV1 } from '@strata/contracts';
import {
  actor,
  ledgerInvariants,
  startPaymentStack,
  type PaymentStack,
} from '../testing/payment.harness';
import { spawnTs, stopProcess, waitForLine } from '../testing/psp-process';

const FIXTURE = path.join(__dirname, '..', 'testing', 'crash-after-charge.fixture.ts');

describe('settlement worker killed between the charge and the ledger (acceptance 3)', () => {
  let stack: PaymentStack;
  beforeAll(async () => {
    stack = await startPaymentStack('payment_crash');
  }, 60_000);
  afterAll(async () => stack.close());

  it('settles exactly once after restart: one charge, one ledger transaction, balanced', async () => {
    const payer = stack.newUser();
    const payee = stack.newUser();
    const { payment } = await stack.client.createPayment({
      idempotencyKey: 'crash-1',
      actor: actor(payer),
      payeeId: payee,
      amount: { amountMinor: 10_000, currency: 'EUR' },
    });
    const paymentId = payment!.id;

    const child = spawnTs(FIXTURE, {
      ...stack.env,
      LOG_LEVEL: 'info',
      TEST_QUEUE_PREFIX: stack.redis.queuePrefix,
      TEST_CACHE_PREFIX: `${stack.redis.prefix}payment`,
    });
    try {
      const line = await waitForLine(child, 'charged, freezing before completion', 30_000);
      expect(line.paymentId).toBe(paymentId);
      await stopProcess(child, 'SIGKILL');
    } finally {
      await stopProcess(child, 'SIGKILL');
    }
    expect(child.signalCode).toBe('SIGKILL');

    // The provider charged, our database knows nothing of it yet.
    expect(await stack.psp.charges(paymentId)).toHaveLength(1);
    const midway = await stack.sql.query('SELECT status FROM payments WHERE id = $1', [paymentId]);
    expect(midway.rows).toEqual([{ status: 'processing' }]);
    expect(
      (
        await stack.sql.query('SELECT 1 FROM ledger_transactions WHERE payment_id = $1', [
          paymentId,
        ])
      ).rowCount,
    ).toBe(0);

    // A new worker picks the stalled job up once the dead one's lock expires.
    stack.startWorker({ lockDurationMs: 2_000, stalledIntervalMs: 1_000 });
    const settled = await stack.eventually(async () => {
      const { payment: current } = await stack.client.getPayment({
        actor: actor(payee),
        paymentId,
      });
      return current?.status === paymentV1.PaymentStatus.SETTLED ? current : undefined;
    }, 30_000);
    expect(settled.fee).toEqual({ amountMinor: 500, currency: 'EUR' });

    const charges = await stack.psp.charges(paymentId);
    expect(charges).toHaveLength(1);
    expect(charges[0].status).toBe('succeeded');
    const transactions = await stack.sql.query(
      'SELECT id FROM ledger_transactions WHERE payment_id = $1',
      [paymentId],
    );
    expect(transactions.rowCount).toBe(1);
    expect(await ledgerInvariants(stack.sql)).toEqual({
      unbalancedTransactions: 0,
      globalSums: [{ currency: 'EUR', total: '0' }],
    });
    const { balances } = await stack.client.getBalance({ actor: actor(payee), userId: payee });
    expect(balances).toEqual([{ amountMinor: 9_500, currency: 'EUR' }]);
  }, 90_000);
});
