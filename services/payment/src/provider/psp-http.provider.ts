import http from 'node:http';
import https from 'node:https';
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
  private readonly baseUrl: URL;
  private readonly transport: typeof http | typeof https;
  // Keep-alive connections, reused across charges (the socket count bounds concurrent calls).
  private readonly agent: http.Agent;

  constructor(private readonly options: PspHttpProviderOptions) {
    this.baseUrl = new URL(options.baseUrl);
    this.transport = this.baseUrl.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

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

  // node:http rather than fetch: measured in the benchmark's worker profile, fetch (undici, web
  // streams, AbortSignal.any per call) cost several times the CPU of the rest of a settlement.
  private post(
    path: string,
    idempotencyKey: string,
    signal: AbortSignal | undefined,
    payload: object,
  ): Promise<{ status: number; body: unknown }> {
    const data = JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, result?: { status: number; body: unknown }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(result!);
      };
      const unreachable = (error: Error) =>
        finish(
          new ProviderUnavailableError(`provider unreachable: ${error.message}`, { cause: error }),
        );
      const request = this.transport.request(
        new URL(path, this.baseUrl),
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(data),
            'idempotency-key': idempotencyKey,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', unreachable);
          response.on('close', () => {
            if (!response.complete) unreachable(new Error('response cut short'));
          });
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            try {
              finish(undefined, {
                status,
                body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
              });
            } catch (error) {
              finish(
                new ProviderUnavailableError(`provider answered ${status} without JSON`, {
                  cause: error,
                }),
              );
            }
          });
        },
      );
      const onAbort = () =>
        request.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(
        () => request.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      request.on('error', unreachable);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      request.end(data);
    });
  }
}
