/* eslint-disable @typescript-eslint/require-await -- unary() handlers return promises; these in-memory fakes mostly have nothing to await. */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { paymentV1, Role, type PaymentServiceServer, type RealtimeEvent } from '@strata/contracts';
import {
  aborted,
  DomainError,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  unary,
} from '@strata/grpc';
import { pageWindow, requireActor } from './fake-helpers';

export const FAKE_WEBHOOK_SECRET = 'whsec_gateway_tests';
const CURRENCIES = new Set(['EUR', 'USD', 'GBP']);
const FEE_RATE = 0.05;

export interface FakePaymentOptions {
  userExists: (userId: string) => boolean;
  publish: (userId: string, event: RealtimeEvent) => Promise<void>;
}

interface IdempotencyRecord {
  bodyHash: string;
  response: unknown;
  inFlight: boolean;
}

/** Signs a webhook as the provider simulator does: hex HMAC-SHA256 over `<timestamp>.<body>`. */
export function signFakeWebhook(payload: Buffer, timestamp: string): string {
  return createHmac('sha256', FAKE_WEBHOOK_SECRET)
    .update(`${timestamp}.`)
    .update(payload)
    .digest('hex');
}

/**
 * In-memory stand-in for the payment service: idempotency (same key + same body → same answer,
 * other body → IDEMPOTENCY_KEY_REUSED), payer/payee-only reads, payee-only refunds, and a
 * settlement that happens right after creation and publishes `payment.settled` to both parties.
 */
export class FakePaymentService {
  readonly payments = new Map<string, paymentV1.Payment>();
  readonly refunds = new Map<string, paymentV1.Refund>();
  private readonly idempotency = new Map<string, IdempotencyRecord>();
  readonly webhookEvents = new Set<string>();
  /** Test hook: keys for which the first request stays "in flight" forever. */
  readonly holdKeys = new Set<string>();

  constructor(private readonly options: FakePaymentOptions) {}

  private async idempotent<Response>(
    scope: string,
    key: string,
    body: unknown,
    run: () => Promise<Response>,
  ): Promise<Response> {
    if (key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key))
      throw invalidArgument('idempotency_key', '1 to 255 printable ASCII characters');
    const recordKey = `${scope}|${key}`;
    const bodyHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const existing = this.idempotency.get(recordKey);
    if (existing) {
      if (existing.bodyHash !== bodyHash)
        throw failedPrecondition(
          'ERROR_REASON_IDEMPOTENCY_KEY_REUSED',
          'idempotency key reused with another request',
        );
      if (existing.inFlight)
        throw aborted(
          'a request with this key is in progress',
          'ERROR_REASON_IDEMPOTENCY_REQUEST_IN_FLIGHT',
        );
      return existing.response as Response;
    }
    const record: IdempotencyRecord = { bodyHash, response: undefined, inFlight: true };
    this.idempotency.set(recordKey, record);
    if (this.holdKeys.has(key))
      throw aborted('held by test', 'ERROR_REASON_IDEMPOTENCY_REQUEST_IN_FLIGHT');
    try {
      const response = await run();
      record.response = response;
      record.inFlight = false;
      return response;
    } catch (error) {
      this.idempotency.delete(recordKey);
      throw error;
    }
  }

  private visible(paymentId: string, actorId: string, role: Role): paymentV1.Payment {
    if (paymentId === '') throw invalidArgument('payment_id', 'required');
    const payment = this.payments.get(paymentId);
    if (
      !payment ||
      (payment.payerId !== actorId && payment.payeeId !== actorId && role !== Role.ADMIN)
    ) {
      throw notFound('payment not found');
    }
    return payment;
  }

  private settle(payment: paymentV1.Payment): void {
    const amount = payment.amount?.amountMinor ?? 0;
    const currency = payment.amount?.currency ?? 'EUR';
    payment.status = paymentV1.PaymentStatus.SETTLED;
    payment.fee = { amountMinor: Math.round(amount * FEE_RATE), currency };
    payment.settleTime = new Date();
    payment.updateTime = payment.settleTime;
    const event: RealtimeEvent = {
      type: 'payment.settled',
      data: {
        paymentId: payment.id,
        payerId: payment.payerId,
        payeeId: payment.payeeId,
        amount: payment.amount,
        settleTime: payment.settleTime,
        ...(payment.articleId === undefined ? {} : { articleId: payment.articleId }),
      },
      at: payment.settleTime,
    };
    void Promise.all([
      this.options.publish(payment.payerId, event),
      this.options.publish(payment.payeeId, event),
    ]);
  }

  readonly implementation: PaymentServiceServer = {
    createPayment: unary(async (request) => {
      const actor = requireActor(request.actor);
      const body = {
        payeeId: request.payeeId,
        amount: request.amount,
        articleId: request.articleId,
        note: request.note,
      };
      return this.idempotent(actor.userId, request.idempotencyKey, body, async () => {
        if (
          request.payeeId === '' ||
          request.payeeId === actor.userId ||
          !this.options.userExists(request.payeeId)
        ) {
          throw invalidArgument('payee_id', 'no such payee');
        }
        const amount = request.amount?.amountMinor ?? 0;
        if (amount < 50 || amount > 100_000)
          throw invalidArgument('amount.amount_minor', 'out of range');
        const currency = request.amount?.currency ?? '';
        if (!CURRENCIES.has(currency))
          throw invalidArgument('amount.currency', 'unsupported currency');
        if (request.note !== undefined && request.note.length > 280)
          throw invalidArgument('note', 'too long');
        const now = new Date();
        const payment: paymentV1.Payment = {
          id: randomUUID(),
          payerId: actor.userId,
          payeeId: request.payeeId,
          amount: { amountMinor: amount, currency },
          fee: { amountMinor: 0, currency },
          refundedAmount: { amountMinor: 0, currency },
          status: paymentV1.PaymentStatus.PENDING,
          failureReason: '',
          createTime: now,
          updateTime: now,
          ...(request.articleId === undefined ? {} : { articleId: request.articleId }),
          ...(request.note === undefined ? {} : { note: request.note }),
        };
        this.payments.set(payment.id, payment);
        const snapshot = paymentV1.Payment.fromPartial(payment);
        setImmediate(() => this.settle(payment));
        return { payment: snapshot };
      });
    }),
    getPayment: unary(async (request) => {
      const actor = requireActor(request.actor);
      const payment = this.visible(request.paymentId, actor.userId, actor.role);
      const refunds = [...this.refunds.values()].filter(
        (refund) => refund.paymentId === payment.id,
      );
      return { payment, refunds };
    }),
    listPayments: unary(async (request) => {
      const actor = requireActor(request.actor);
      if (request.direction === paymentV1.PaymentDirection.UNSPECIFIED)
        throw invalidArgument('direction', 'required');
      const sent = request.direction === paymentV1.PaymentDirection.SENT;
      const items = [...this.payments.values()]
        .filter((payment) => (sent ? payment.payerId : payment.payeeId) === actor.userId)
        .sort(
          (left, right) => (right.createTime?.getTime() ?? 0) - (left.createTime?.getTime() ?? 0),
        );
      const { page, next } = pageWindow(items, request.pageSize, request.pageToken);
      return { payments: page, nextPageToken: next };
    }),
    createRefund: unary(async (request) => {
      const actor = requireActor(request.actor);
      const body = { paymentId: request.paymentId, amount: request.amount };
      return this.idempotent(`refund:${actor.userId}`, request.idempotencyKey, body, async () => {
        const payment = this.visible(request.paymentId, actor.userId, actor.role);
        if (payment.payeeId !== actor.userId && actor.role !== Role.ADMIN)
          throw permissionDenied('only the payee may refund');
        const amount = request.amount?.amountMinor ?? 0;
        if (amount <= 0) throw invalidArgument('amount.amount_minor', 'must be positive');
        if (request.amount?.currency !== payment.amount?.currency)
          throw invalidArgument('amount.currency', "not the payment's currency");
        if (
          payment.status !== paymentV1.PaymentStatus.SETTLED &&
          payment.status !== paymentV1.PaymentStatus.PARTIALLY_REFUNDED
        ) {
          throw failedPrecondition(
            'ERROR_REASON_PAYMENT_NOT_REFUNDABLE',
            'payment is not refundable',
          );
        }
        const refunded = payment.refundedAmount?.amountMinor ?? 0;
        const captured = payment.amount?.amountMinor ?? 0;
        if (refunded + amount > captured)
          throw failedPrecondition(
            'ERROR_REASON_REFUND_EXCEEDS_CAPTURED',
            'refund exceeds the captured amount',
          );
        const now = new Date();
        const currency = payment.amount?.currency ?? 'EUR';
        const refund: paymentV1.Refund = {
          id: randomUUID(),
          paymentId: payment.id,
          amount: { amountMinor: amount, currency },
          status: paymentV1.RefundStatus.SUCCEEDED,
          failureReason: '',
          createTime: now,
          updateTime: now,
        };
        this.refunds.set(refund.id, refund);
        payment.refundedAmount = { amountMinor: refunded + amount, currency };
        payment.status =
          refunded + amount === captured
            ? paymentV1.PaymentStatus.REFUNDED
            : paymentV1.PaymentStatus.PARTIALLY_REFUNDED;
        return { refund };
      });
    }),
    getBalance: unary(async (request) => {
      const actor = requireActor(request.actor);
      if (request.userId === '') throw invalidArgument('user_id', 'required');
      if (request.userId !== actor.userId && actor.role !== Role.ADMIN)
        throw permissionDenied("another user's balance");
      const totals = new Map<string, number>();
      for (const payment of this.payments.values()) {
        if (payment.payeeId !== request.userId || payment.settleTime === undefined) continue;
        const currency = payment.amount?.currency ?? 'EUR';
        const net =
          (payment.amount?.amountMinor ?? 0) -
          (payment.fee?.amountMinor ?? 0) -
          (payment.refundedAmount?.amountMinor ?? 0);
        totals.set(currency, (totals.get(currency) ?? 0) + net);
      }
      return {
        balances: [...totals.entries()]
          .sort(([left], [right]) => left.localeCompare(right))
          .map(([currency, amountMinor]) => ({ currency, amountMinor })),
      };
    }),
    handleProviderWebhook: unary(async (request) => {
      const expected = signFakeWebhook(request.payload, request.timestamp);
      const given = Buffer.from(request.signature, 'utf8');
      if (
        given.length !== expected.length ||
        !timingSafeEqual(given, Buffer.from(expected, 'utf8'))
      ) {
        throw new DomainError(status.UNAUTHENTICATED, 'webhook signature invalid', {
          reason: 'ERROR_REASON_WEBHOOK_SIGNATURE_INVALID',
        });
      }
      let eventId: unknown;
      try {
        eventId = (JSON.parse(request.payload.toString('utf8')) as { id?: unknown }).id;
      } catch {
        eventId = undefined;
      }
      if (typeof eventId !== 'string') throw invalidArgument('payload', 'not a known event');
      const duplicate = this.webhookEvents.has(eventId);
      this.webhookEvents.add(eventId);
      return { eventId, duplicate };
    }),
  };
}
