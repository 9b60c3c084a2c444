import { paymentV1, type commonV1 } from '@strata/contracts';
import {
  enumName,
  iso,
  isoOrNull,
  nullableString,
  nullableTimestamp,
  timestamp,
} from '../http/schemas';

const amount = {
  type: 'integer',
  description: 'Integer minor units of the currency (cents)',
} as const;
const currency = { type: 'string', description: 'ISO 4217 code' } as const;

export const refundSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'paymentId',
    'amount',
    'currency',
    'status',
    'failureReason',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'string' },
    paymentId: { type: 'string' },
    amount,
    currency,
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
    failureReason: nullableString,
    createdAt: timestamp,
    updatedAt: timestamp,
  },
} as const;

const paymentProperties = {
  id: { type: 'string' },
  payerId: { type: 'string' },
  payeeId: { type: 'string' },
  amount,
  currency,
  fee: amount,
  refundedAmount: amount,
  articleId: nullableString,
  note: nullableString,
  status: {
    type: 'string',
    enum: ['pending', 'processing', 'settled', 'failed', 'partially_refunded', 'refunded'],
  },
  failureReason: nullableString,
  createdAt: timestamp,
  updatedAt: timestamp,
  settledAt: nullableTimestamp,
} as const;

const paymentRequired = Object.keys(paymentProperties);

export const paymentSchema = {
  type: 'object',
  additionalProperties: false,
  required: paymentRequired,
  properties: paymentProperties,
} as const;

export const paymentWithRefundsSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...paymentRequired, 'refunds'],
  properties: { ...paymentProperties, refunds: { type: 'array', items: refundSchema } },
} as const;

export const paymentPageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: paymentSchema },
    nextCursor: { type: ['string', 'null'] },
  },
} as const;

export const balanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['balances'],
  properties: {
    balances: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['amount', 'currency'],
        properties: { amount, currency },
      },
    },
  },
} as const;

function minor(money: commonV1.Money | undefined): number {
  return money?.amountMinor ?? 0;
}

export function toPayment(payment: paymentV1.Payment | undefined): Record<string, unknown> {
  if (!payment) throw new Error('downstream response without a payment');
  return {
    id: payment.id,
    payerId: payment.payerId,
    payeeId: payment.payeeId,
    amount: minor(payment.amount),
    currency: payment.amount?.currency ?? '',
    fee: minor(payment.fee),
    refundedAmount: minor(payment.refundedAmount),
    articleId: payment.articleId ?? null,
    note: payment.note ?? null,
    status: enumName(paymentV1.paymentStatusToJSON(payment.status), 'PAYMENT_STATUS_'),
    failureReason: payment.failureReason === '' ? null : payment.failureReason,
    createdAt: iso(payment.createTime),
    updatedAt: iso(payment.updateTime),
    settledAt: isoOrNull(payment.settleTime),
  };
}

export function toRefund(refund: paymentV1.Refund | undefined): Record<string, unknown> {
  if (!refund) throw new Error('downstream response without a refund');
  return {
    id: refund.id,
    paymentId: refund.paymentId,
    amount: minor(refund.amount),
    currency: refund.amount?.currency ?? '',
    status: enumName(paymentV1.refundStatusToJSON(refund.status), 'REFUND_STATUS_'),
    failureReason: refund.failureReason === '' ? null : refund.failureReason,
    createdAt: iso(refund.createTime),
    updatedAt: iso(refund.updateTime),
  };
}
