import { createHash, randomUUID } from 'node:crypto';

export type ChargeStatus = 'authorized' | 'succeeded' | 'failed';

export interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  currency: string;
  status: ChargeStatus;
  captured: boolean;
  amount_captured: number;
  amount_refunded: number;
  failure_code: string | null;
  /** The merchant's own id for what is being paid (Strata: the payment id). */
  reference: string | null;
  idempotency_key: string;
  created: number;
}

export interface Refund {
  id: string;
  object: 'refund';
  charge: string;
  amount: number;
  currency: string;
  status: 'succeeded' | 'failed';
  failure_code: string | null;
  reference: string | null;
  idempotency_key: string;
  created: number;
}

export type PspEventType =
  'charge.succeeded' | 'charge.failed' | 'refund.succeeded' | 'refund.failed';

/** What a handler answers; stored under the idempotency key when it is a definitive outcome. */
export interface PspResponse {
  statusCode: number;
  body: unknown;
}

/** An error answer in the provider's own shape. */
export function errorResponse(statusCode: number, code: string, message: string): PspResponse {
  return { statusCode, body: { error: { code, message } } };
}

interface IdempotencyEntry {
  fingerprint: string;
  response: PspResponse | undefined;
}

export interface ProcessorOptions {
  declineRate: number;
  errorRate: number;
  random: () => number;
  latency: () => Promise<void>;
  /** Called once per definitive outcome, for webhooks. */
  onEvent: (type: PspEventType, object: Charge | Refund) => void;
}

function fingerprint(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * The simulated processor: charges, captures and refunds held in memory, each request idempotent
 * by its `Idempotency-Key` (scoped per endpoint, as a real processor scopes it per account): the
 * same key and body return the stored answer without a second effect, another body under the
 * key is a 422, and a request while the first one with that key runs is a 409.
 */
export class PspProcessor {
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  /** Requests seen per endpoint and key, replays included (tests assert on it). */
  readonly requestCounts = new Map<string, number>();
  private readonly idempotency = new Map<string, IdempotencyEntry>();

  constructor(private readonly options: ProcessorOptions) {}

  /** Runs `work` at most once per (scope, key) and body; replays get the stored answer. */
  async idempotent(
    scope: string,
    key: string | undefined,
    body: unknown,
    work: () => PspResponse,
  ): Promise<PspResponse> {
    if (key === undefined || key.length === 0 || key.length > 255) {
      return errorResponse(
        400,
        'idempotency_key_required',
        'Idempotency-Key header (1-255 chars) is required',
      );
    }
    const entryKey = `${scope}:${key}`;
    this.requestCounts.set(entryKey, (this.requestCounts.get(entryKey) ?? 0) + 1);
    const print = fingerprint(body);
    const existing = this.idempotency.get(entryKey);
    if (existing) {
      if (existing.fingerprint !== print) {
        return errorResponse(
          422,
          'idempotency_key_reused',
          'Idempotency-Key was used with another request body',
        );
      }
      if (existing.response === undefined) {
        return errorResponse(
          409,
          'idempotency_request_in_progress',
          'a request with this Idempotency-Key is in progress',
        );
      }
      return existing.response;
    }
    const entry: IdempotencyEntry = { fingerprint: print, response: undefined };
    this.idempotency.set(entryKey, entry);
    try {
      await this.options.latency();
      if (this.options.random() < this.options.errorRate) {
        // A transient failure has no effect, so the key is released for the retry.
        this.idempotency.delete(entryKey);
        return errorResponse(
          503,
          'processor_unavailable',
          'simulated transient failure, retry with the same key',
        );
      }
      entry.response = work();
      return entry.response;
    } catch (error) {
      this.idempotency.delete(entryKey);
      throw error;
    }
  }

  createCharge(
    input: { amount: number; currency: string; reference: string | null; capture: boolean },
    key: string,
  ): PspResponse {
    const declined = this.options.random() < this.options.declineRate;
    const charge: Charge = {
      id: `ch_${randomUUID().replaceAll('-', '')}`,
      object: 'charge',
      amount: input.amount,
      currency: input.currency,
      status: declined ? 'failed' : input.capture ? 'succeeded' : 'authorized',
      captured: !declined && input.capture,
      amount_captured: !declined && input.capture ? input.amount : 0,
      amount_refunded: 0,
      failure_code: declined ? 'card_declined' : null,
      reference: input.reference,
      idempotency_key: key,
      created: now(),
    };
    this.charges.set(charge.id, charge);
    if (charge.status !== 'authorized') {
      this.options.onEvent(declined ? 'charge.failed' : 'charge.succeeded', { ...charge });
    }
    // A decline is a definitive answer (402 with the charge), stored under the key like a success.
    return { statusCode: declined ? 402 : 201, body: charge };
  }

  capture(chargeId: string): PspResponse {
    const charge = this.charges.get(chargeId);
    if (!charge) return errorResponse(404, 'resource_missing', 'no such charge');
    if (charge.status === 'succeeded') return { statusCode: 200, body: charge };
    if (charge.status !== 'authorized')
      return errorResponse(409, 'charge_not_capturable', 'charge cannot be captured');
    charge.status = 'succeeded';
    charge.captured = true;
    charge.amount_captured = charge.amount;
    this.options.onEvent('charge.succeeded', { ...charge });
    return { statusCode: 200, body: charge };
  }

  createRefund(
    input: { charge: string; amount: number; reference: string | null },
    key: string,
  ): PspResponse {
    const charge = this.charges.get(input.charge);
    if (!charge) return errorResponse(404, 'resource_missing', 'no such charge');
    if (!charge.captured)
      return errorResponse(409, 'charge_not_refundable', 'charge was not captured');
    if (charge.amount_refunded + input.amount > charge.amount_captured) {
      return errorResponse(422, 'amount_too_large', 'refund exceeds the captured amount');
    }
    charge.amount_refunded += input.amount;
    const refund: Refund = {
      id: `re_${randomUUID().replaceAll('-', '')}`,
      object: 'refund',
      charge: charge.id,
      amount: input.amount,
      currency: charge.currency,
      status: 'succeeded',
      failure_code: null,
      reference: input.reference,
      idempotency_key: key,
      created: now(),
    };
    this.refunds.set(refund.id, refund);
    this.options.onEvent('refund.succeeded', { ...refund });
    return { statusCode: 201, body: refund };
  }
}
