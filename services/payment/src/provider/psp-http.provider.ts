import {
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentProvider,
  ProviderUnavailableError,
  type RefundOutcome,
  type RefundRequest,
} from './payment-provider';

export interface PspHttpProviderOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
}

interface PspCharge {
  id: string;
  status: string;
  failure_code: string | null;
}
interface PspRefund {
  id: string;
  status: string;
  failure_code: string | null;
}
interface PspError {
  error?: { code?: string };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** PaymentProvider over the simulator's HTTP API (Stripe-like: JSON, Bearer key, Idempotency-Key). */
export class PspHttpProvider implements PaymentProvider {
  constructor(private readonly options: PspHttpProviderOptions) {}

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    const { status, body } = await this.post(
      '/v1/charges',
      request.idempotencyKey,
      request.signal,
      {
        amount: Number(request.amountMinor),
        currency: request.currency,
        reference: request.reference,
      },
    );
    if (status === 201 || status === 402) {
      const charge = body as PspCharge;
      if (charge.status === 'succeeded') return { status: 'succeeded', chargeId: charge.id };
      return {
        status: 'declined',
        chargeId: charge.id,
        reason: charge.failure_code ?? 'card_declined',
      };
    }
    // 4xx other than a decline is a request we will never get accepted: fail the payment.
    if (status >= 400 && status < 500 && status !== 409 && status !== 429) {
      return { status: 'declined', chargeId: undefined, reason: 'provider_rejected' };
    }
    throw new ProviderUnavailableError(`charge: provider answered ${status}`);
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    const { status, body } = await this.post(
      '/v1/refunds',
      request.idempotencyKey,
      request.signal,
      {
        charge: request.chargeId,
        amount: Number(request.amountMinor),
        reference: request.reference,
      },
    );
    if (status === 201) return { status: 'succeeded', refundId: (body as PspRefund).id };
    if (status >= 400 && status < 500 && status !== 409 && status !== 429) {
      const code = isRecord(body) ? (body as PspError).error?.code : undefined;
      return { status: 'failed', reason: code ?? 'provider_rejected' };
    }
    throw new ProviderUnavailableError(`refund: provider answered ${status}`);
  }

  private async post(
    path: string,
    idempotencyKey: string,
    signal: AbortSignal | undefined,
    payload: object,
  ): Promise<{ status: number; body: unknown }> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(new URL(path, this.options.baseUrl), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify(payload),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new ProviderUnavailableError(
        `provider unreachable: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new ProviderUnavailableError(`provider answered ${response.status} without JSON`, {
        cause: error,
      });
    }
    return { status: response.status, body };
  }
}
