/**
 * The seam between the payment service and a card processor. The simulator's HTTP adapter
 * implements it; a Stripe or Adyen adapter would too. Every call carries an idempotency key that
 * the processor honours, so a call retried after a crash (or a timeout) never charges twice.
 */
export interface PaymentProvider {
  /** Authorises and captures `amount`. Same key → same charge. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Refunds part or all of a captured charge. Same key → same refund. */
  refund(request: RefundRequest): Promise<RefundOutcome>;
  /** Releases connections (kept-alive sockets), if the adapter holds any. */
  close?(): void;
}

export interface ChargeRequest {
  readonly idempotencyKey: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  /** Our id of what is paid (the payment id), echoed in webhooks. */
  readonly reference: string;
  readonly signal?: AbortSignal;
}

export type ChargeOutcome =
  | { readonly status: 'succeeded'; readonly chargeId: string }
  | { readonly status: 'declined'; readonly chargeId: string | undefined; readonly reason: string };

export interface RefundRequest {
  readonly idempotencyKey: string;
  readonly chargeId: string;
  readonly amountMinor: bigint;
  readonly reference: string;
  readonly signal?: AbortSignal;
}

export type RefundOutcome =
  | { readonly status: 'succeeded'; readonly refundId: string }
  | { readonly status: 'failed'; readonly reason: string };

/**
 * The processor could not give a definitive answer (timeout, 5xx, in progress): the caller retries
 * later with the same idempotency key.
 */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}
