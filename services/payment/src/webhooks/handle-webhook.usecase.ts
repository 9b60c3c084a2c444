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
  object: { id: string; reference: string | null; failure_code: string | null; amount: number };
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
      amount: typeof object.amount === 'number' ? object.amount : 0,
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** charge.succeeded: the same one-statement transition as the settlement worker, in `run`'s transaction. */
async function applyChargeSucceededEvent(
  run: SqlRunner,
  paymentId: string,
  chargeId: string,
  feeBps: number,
): Promise<Effect[]> {
  const payment = await readPaymentToSettle(run, paymentId);
  if (!payment) return [];
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
            reference,
            event.object.id,
            dependencies.feeBps,
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
          effects: await applyRefundSucceeded(tx, reference, event.object.id),
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
