import { type PaymentServiceServer } from '@strata/contracts';
import { unary } from '@strata/grpc';
import { type Cache } from '@strata/cache';
import { type CachedBalances } from '../balances/balance-cache';
import { getBalance } from '../balances/get-balance.usecase';
import { type PaymentDatabase } from '../database';
import { createPayment, type CreatePaymentDependencies } from '../payments/create-payment.usecase';
import { getPayment, listPayments } from '../payments/payments.repository';
import { createRefund, type CreateRefundDependencies } from '../refunds/create-refund.usecase';
import {
  handleProviderWebhook,
  type WebhookDependencies,
} from '../webhooks/handle-webhook.usecase';

export interface PaymentHandlerDependencies {
  readonly database: PaymentDatabase;
  readonly balanceCache: Cache<CachedBalances>;
  readonly createPayment: CreatePaymentDependencies;
  readonly createRefund: CreateRefundDependencies;
  readonly webhooks: WebhookDependencies;
}

/** The PaymentService implementation: each RPC is one use case; errors become statuses in `unary`. */
export function paymentServiceHandlers(
  dependencies: PaymentHandlerDependencies,
): PaymentServiceServer {
  return {
    createPayment: unary((request) => createPayment(dependencies.createPayment, request)),
    getPayment: unary((request) => getPayment(dependencies.database, request)),
    listPayments: unary((request) => listPayments(dependencies.database, request)),
    createRefund: unary((request) => createRefund(dependencies.createRefund, request)),
    getBalance: unary((request) =>
      getBalance(dependencies.database, dependencies.balanceCache, request),
    ),
    handleProviderWebhook: unary((request) =>
      handleProviderWebhook(dependencies.webhooks, request),
    ),
  };
}
