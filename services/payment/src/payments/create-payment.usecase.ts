import { randomUUID } from 'node:crypto';
import { paymentV1 } from '@strata/contracts';
import { invalidArgument } from '@strata/grpc';
import { type PaymentDatabase } from '../database';
import {
  findIdempotencyRecord,
  lockKeyOrFail,
  replay,
  requestHash,
  storeIdempotencyRecord,
} from '../idempotency/idempotency.repository';
import { enqueueInOutbox } from '../outbox';
import { isUuid, requireActor, requireIdempotencyKey } from '../grpc/request-validation';
import { settlePaymentJob } from '../settlement/payment.jobs';
import { type PayeeDirectory } from './payee-directory';
import { toPaymentMessage } from './payment.mapping';

export interface CreatePaymentSettings {
  readonly minAmount: number;
  readonly maxAmount: number;
  readonly currencies: readonly string[];
  readonly idempotencyTtlHours: number;
}

export interface CreatePaymentDependencies {
  readonly database: PaymentDatabase;
  readonly payees: PayeeDirectory;
  readonly settings: CreatePaymentSettings;
  /** Called after a commit that wrote an outbox row (wakes a relay running in this process). */
  readonly onOutboxWrite?: () => void;
}

const MAX_ARTICLE_ID_LENGTH = 64;
const MAX_NOTE_LENGTH = 280;

interface ValidBody {
  payeeId: string;
  amountMinor: number;
  currency: string;
  articleId: string | undefined;
  note: string | undefined;
}

function validateBody(request: paymentV1.CreatePaymentRequest, payerId: string, settings: CreatePaymentSettings): ValidBody {
  if (request.payeeId === '') throw invalidArgument('payee_id', 'required');
  if (!isUuid(request.payeeId)) throw invalidArgument('payee_id', 'no such user');
  const payeeId = request.payeeId.toLowerCase();
  if (payeeId === payerId) throw invalidArgument('payee_id', 'cannot tip yourself');
  const amount = request.amount;
  if (!amount) throw invalidArgument('amount', 'required');
  if (!settings.currencies.includes(amount.currency)) {
    throw invalidArgument('amount.currency', `unsupported currency ${amount.currency.slice(0, 8)}`);
  }
  if (!Number.isSafeInteger(amount.amountMinor) || amount.amountMinor < settings.minAmount || amount.amountMinor > settings.maxAmount) {
    throw invalidArgument('amount.amount_minor', `must be between ${settings.minAmount} and ${settings.maxAmount}`);
  }
  if (request.articleId !== undefined && (request.articleId === '' || request.articleId.length > MAX_ARTICLE_ID_LENGTH)) {
    throw invalidArgument('article_id', `expected 1 to ${MAX_ARTICLE_ID_LENGTH} characters`);
  }
  if (request.note !== undefined && [...request.note].length > MAX_NOTE_LENGTH) {
    throw invalidArgument('note', `at most ${MAX_NOTE_LENGTH} characters`);
  }
  return { payeeId, amountMinor: amount.amountMinor, currency: amount.currency, articleId: request.articleId, note: request.note };
}

/**
 * CreatePayment. The payment row, the idempotency record (holding the encoded first response)
 * and the settlement job's outbox row commit in one transaction; the key's advisory lock, held
 * for that transaction, turns a concurrent duplicate into IDEMPOTENCY_REQUEST_IN_FLIGHT.
 */
export async function createPayment(
  dependencies: CreatePaymentDependencies,
  request: paymentV1.CreatePaymentRequest,
): Promise<paymentV1.CreatePaymentResponse> {
  const actor = requireActor(request.actor);
  const key = requireIdempotencyKey(request.idempotencyKey);
  const body = validateBody(request, actor.userId, dependencies.settings);
  const hash = requestHash([body.payeeId, body.amountMinor, body.currency, body.articleId ?? null, body.note ?? null]);
  const { database } = dependencies;

  // Fast path for retries: no user-service call, no write transaction.
  const stored = await findIdempotencyRecord(database, 'create_payment', actor.userId, key);
  if (stored) return paymentV1.CreatePaymentResponse.decode(replay(stored, hash));

  if (!(await dependencies.payees.exists(body.payeeId))) throw invalidArgument('payee_id', 'no such user');

  const encoded = await database.$transaction(async (tx) => {
    await lockKeyOrFail(tx, 'create_payment', actor.userId, key);
    // Re-read under the lock: the first request may have committed since the fast path looked.
    const committed = await findIdempotencyRecord(tx, 'create_payment', actor.userId, key);
    if (committed) return { response: replay(committed, hash), created: false };

    const payment = await tx.payment.create({
      data: {
        id: randomUUID(),
        payerId: actor.userId,
        payeeId: body.payeeId,
        amountMinor: BigInt(body.amountMinor),
        currency: body.currency,
        articleId: body.articleId ?? null,
        note: body.note ?? null,
      },
    });
    const response = paymentV1.CreatePaymentResponse.encode({ payment: toPaymentMessage(payment) }).finish();
    await storeIdempotencyRecord(tx, {
      scope: 'create_payment',
      actorId: actor.userId,
      key,
      requestHash: hash,
      response,
      resourceId: payment.id,
      ttlHours: dependencies.settings.idempotencyTtlHours,
    });
    await enqueueInOutbox(tx, settlePaymentJob, { paymentId: payment.id });
    return { response, created: true };
  });
  if (encoded.created) dependencies.onOutboxWrite?.();
  return paymentV1.CreatePaymentResponse.decode(encoded.response);
}
