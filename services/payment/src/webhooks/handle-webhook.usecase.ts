import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorReason, errorReasonToJSON, type paymentV1 } from '@strata/contracts';
import { invalidArgument, unauthenticated } from '@strata/grpc';
import { type Logger } from '@strata/logger';
import { type PaymentDatabase } from '../database';
import { applyRefundFailed, applyRefundSucceeded } from '../refunds/refund-outcome';
import { LedgerAccountDirectory } from '../ledger/ledger.repository';
import {
  applyChargeFailed,
  applyChargeSucceeded,
  readPaymentToSettle,
} from '../settlement/charge-outcome';
import { type Effect, type EffectSink, runEffects } from '../settlement/effects';
import { type SqlRunner, transactionRunner } from '../sql-runner';

export const MAX_WEBHOOK_BYTES = 64 * 1024;
const KNOWN_TYPES = new Set([
  'charge.succeeded',
  'charge.failed',
  'refund.succeeded',
  'refund.failed',
]);

export interface WebhookDependencies {
  readonly database: PaymentDatabase;
  readonly effects: EffectSink;
  readonly secret: string;
  readonly toleranceSeconds: number;
  readonly feeBps: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface ProviderEvent {
  id: string;
  type: string;
  object: {
    id: string;
    reference: string | null;
    failure_code: string | null;
    /** Minor units, as the provider reports them; null when absent or not a safe integer. */
    amount: number | null;
    /** Upper-cased ISO code; null when absent. */
    currency: string | null;
  };
}

const signatureInvalid = () =>
  unauthenticated(
    'webhook signature invalid',
    errorReasonToJSON(ErrorReason.WEBHOOK_SIGNATURE_INVALID),
  );

function verify(secret: string, timestamp: string, payload: Buffer, signature: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

function parseEvent(payload: Buffer): ProviderEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    throw invalidArgument('payload', 'not JSON');
  }
  const event = parsed as {
    id?: unknown;
    type?: unknown;
    data?: { object?: Record<string, unknown> };
  };
  const object = event.data?.object;
  if (
    typeof event.id !== 'string' ||
    event.id === '' ||
    event.id.length > 255 ||
    typeof event.type !== 'string' ||
    !KNOWN_TYPES.has(event.type) ||
    typeof object !== 'object' ||
    typeof object.id !== 'string'
  ) {
    throw invalidArgument('payload', 'not a known provider event');
  }
  return {
    id: event.id,
    type: event.type,
    object: {
      id: object.id,
      reference: typeof object.reference === 'string' ? object.reference : null,
      failure_code: typeof object.failure_code === 'string' ? object.failure_code : null,
      amount:
        typeof object.amount === 'number' && Number.isSafeInteger(object.amount)
          ? object.amount
          : null,
      currency: typeof object.currency === 'string' ? object.currency.toUpperCase() : null,
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A provider event that moves money must say the amount and currency we expect, or it is not
 * applied: settling or refunding on a figure that differs from ours would post a ledger
 * transaction that disagrees with the provider's books (Stripe's own advice: check the amount
 * before fulfilling). The event is still recorded, so the provider stops redelivering it, and the
 * mismatch is logged as an error for an operator; the settlement and refund workers still apply
 * the provider's API answer to their own request.
 */
function mismatchLogger(logger: Logger, event: ProviderEvent) {
  return (expected: { amountMinor: bigint; currency: string }): void => {
    logger.error(
      {
        eventId: event.id,
        type: event.type,
        reference: event.object.reference,
        reported: { amountMinor: event.object.amount, currency: event.object.currency },
        expected: { amountMinor: expected.amountMinor.toString(), currency: expected.currency },
      },
      'provider event amount or currency differs from ours; not applied',
    );
  };
}

/** charge.succeeded: the same one-statement transition as the settlement worker, in `run`'s transaction. */
async function applyChargeSucceededEvent(
  run: SqlRunner,
  event: ProviderEvent,
  paymentId: string,
  feeBps: number,
  logger: Logger,
): Promise<Effect[]> {
  const payment = await readPaymentToSettle(run, paymentId);
  if (!payment) return [];
  if (
    event.object.amount === null ||
    BigInt(event.object.amount) !== payment.amountMinor ||
    event.object.currency !== payment.currency
  ) {
    const reportMismatch = mismatchLogger(logger, event);
    reportMismatch({ amountMinor: payment.amountMinor, currency: payment.currency });
    return [];
  }
  const chargeId = event.object.id;
  const accounts = await new LedgerAccountDirectory(run).settlementAccounts(
    payment.payeeId,
    payment.currency,
  );
  return applyChargeSucceeded(run, payment, chargeId, feeBps, accounts);
}

/**
 * HandleProviderWebhook: verifies the HMAC over `${timestamp}.${payload}` and the timestamp
 * window, then records the event id and applies it in ONE transaction, so a redelivery (or a
 * concurrent duplicate) is a no-op, and a failure leaves the event unrecorded for the provider to
 * redeliver. Applying reuses the worker's transitions, so webhook and worker cannot double-post.
 */
export async function handleProviderWebhook(
  dependencies: WebhookDependencies,
  request: paymentV1.HandleProviderWebhookRequest,
): Promise<paymentV1.HandleProviderWebhookResponse> {
  const payload = Buffer.from(request.payload);
  if (payload.length > MAX_WEBHOOK_BYTES)
    throw invalidArgument('payload', `over ${MAX_WEBHOOK_BYTES} bytes`);
  const timestamp = Number(request.timestamp);
  const nowSeconds = Math.floor((dependencies.now?.() ?? Date.now()) / 1000);
  if (
    !/^\d{1,12}$/.test(request.timestamp) ||
    Math.abs(nowSeconds - timestamp) > dependencies.toleranceSeconds
  ) {
    throw signatureInvalid();
  }
  if (!verify(dependencies.secret, request.timestamp, payload, request.signature))
    throw signatureInvalid();
  const event = parseEvent(payload);

  const outcome = await dependencies.database.$transaction(async (tx) => {
    const inserted = await tx.$executeRaw`
      INSERT INTO provider_events (id, type) VALUES (${event.id}, ${event.type}) ON CONFLICT (id) DO NOTHING`;
    if (inserted === 0) return { duplicate: true, effects: [] as Effect[] };
    const reference = event.object.reference;
    if (reference === null || !UUID.test(reference)) {
      dependencies.logger.warn(
        { eventId: event.id, type: event.type },
        'provider event without a known reference, ignored',
      );
      return { duplicate: false, effects: [] as Effect[] };
    }
    switch (event.type) {
      case 'charge.succeeded':
        return {
          duplicate: false,
          effects: await applyChargeSucceededEvent(
            transactionRunner(tx),
            event,
            reference,
            dependencies.feeBps,
            dependencies.logger,
          ),
        };
      case 'charge.failed':
        return {
          duplicate: false,
          effects: await applyChargeFailed(
            transactionRunner(tx),
            reference,
            event.object.failure_code ?? 'card_declined',
          ),
        };
      case 'refund.succeeded':
        return {
          duplicate: false,
          effects: await applyRefundSucceeded(tx, reference, event.object.id, {
            // -1 never equals a refund's amount: a missing amount is a mismatch, not a pass.
            amountMinor: BigInt(event.object.amount ?? -1),
            currency: event.object.currency ?? '',
            onMismatch: mismatchLogger(dependencies.logger, event),
          }),
        };
      default:
        return {
          duplicate: false,
          effects: await applyRefundFailed(
            tx,
            reference,
            event.object.failure_code ?? 'refund_failed',
          ),
        };
    }
  });
  await runEffects(outcome.effects, dependencies.effects, dependencies.logger);
  return { eventId: event.id, duplicate: outcome.duplicate };
}
