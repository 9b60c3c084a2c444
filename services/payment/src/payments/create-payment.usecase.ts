import { randomUUID } from 'node:crypto';
import { paymentV1 } from '@strata/contracts';
import { invalidArgument } from '@strata/grpc';
import { type PaymentDatabase } from '../database';
import { type Payment } from '../generated/prisma/client';
import {
  findIdempotencyRecord,
  replay,
  requestHash,
  requestInFlight,
} from '../idempotency/idempotency.repository';
import { outboxRow } from '../outbox';
import { isUuid, requireActor, requireIdempotencyKey } from '../grpc/request-validation';
import { settlePaymentJob } from '../settlement/payment.jobs';
import { type PaymentInsert, type PaymentInsertOutcome } from './create-payment.repository';
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
  /**
   * Writes one payment with its idempotency record and outbox row: `insertPayments` of the
   * repository, behind a `groupCommit` that writes the creates in flight together (app.ts).
   */
  readonly insertPayment: (insert: PaymentInsert) => Promise<PaymentInsertOutcome>;
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

function validateBody(
  request: paymentV1.CreatePaymentRequest,
  payerId: string,
  settings: CreatePaymentSettings,
): ValidBody {
  if (request.payeeId === '') throw invalidArgument('payee_id', 'required');
  if (!isUuid(request.payeeId)) throw invalidArgument('payee_id', 'no such user');
  const payeeId = request.payeeId.toLowerCase();
  if (payeeId === payerId) throw invalidArgument('payee_id', 'cannot tip yourself');
  const amount = request.amount;
  if (!amount) throw invalidArgument('amount', 'required');
  if (!settings.currencies.includes(amount.currency)) {
    throw invalidArgument('amount.currency', `unsupported currency ${amount.currency.slice(0, 8)}`);
  }
  if (
    !Number.isSafeInteger(amount.amountMinor) ||
    amount.amountMinor < settings.minAmount ||
    amount.amountMinor > settings.maxAmount
  ) {
    throw invalidArgument(
      'amount.amount_minor',
      `must be between ${settings.minAmount} and ${settings.maxAmount}`,
    );
  }
  if (
    request.articleId !== undefined &&
    (request.articleId === '' || request.articleId.length > MAX_ARTICLE_ID_LENGTH)
  ) {
    throw invalidArgument('article_id', `expected 1 to ${MAX_ARTICLE_ID_LENGTH} characters`);
  }
  if (request.note !== undefined && [...request.note].length > MAX_NOTE_LENGTH) {
    throw invalidArgument('note', `at most ${MAX_NOTE_LENGTH} characters`);
  }
  return {
    payeeId,
    amountMinor: amount.amountMinor,
    currency: amount.currency,
    articleId: request.articleId,
    note: request.note,
  };
}

/**
 * CreatePayment. The payment row, the idempotency record (holding the encoded first response)
 * and the settlement job's outbox row commit together in ONE SQL statement
 * (`insertPayments`, a data-modifying CTE, shared with the other creates in flight): one round
 * trip to PostgreSQL instead of an interactive transaction of seven. The key's advisory lock, held
 * for that statement, turns a concurrent duplicate into IDEMPOTENCY_REQUEST_IN_FLIGHT; a committed
 * record is replayed byte for byte.
 */
export async function createPayment(
  dependencies: CreatePaymentDependencies,
  request: paymentV1.CreatePaymentRequest,
): Promise<paymentV1.CreatePaymentResponse> {
  const actor = requireActor(request.actor);
  const key = requireIdempotencyKey(request.idempotencyKey);
  const body = validateBody(request, actor.userId, dependencies.settings);
  const hash = requestHash([
    body.payeeId,
    body.amountMinor,
    body.currency,
    body.articleId ?? null,
    body.note ?? null,
  ]);
  const { database } = dependencies;
  // A retry must not depend on the user service, and a reused key must answer KEY_REUSED even if
  // its new payee is unknown: when the payee check fails either way, the stored record decides.
  // (The payee check is cached in process, so the common path adds no round trip for it.)
  const replayStored = async (): Promise<paymentV1.CreatePaymentResponse | undefined> => {
    const stored = await findIdempotencyRecord(database, 'create_payment', actor.userId, key);
    return stored ? paymentV1.CreatePaymentResponse.decode(replay(stored, hash)) : undefined;
  };

  let payeeExists: boolean;
  try {
    payeeExists = await dependencies.payees.exists(body.payeeId);
  } catch (error) {
    const replayed = await replayStored();
    if (replayed) return replayed;
    throw error;
  }
  if (!payeeExists) {
    const replayed = await replayStored();
    if (replayed) return replayed;
    throw invalidArgument('payee_id', 'no such user');
  }

  // The row is built here, timestamps included, so the response stored with it is exactly what a
  // read of the committed row would give (Timestamptz(3) keeps a JS Date's milliseconds).
  const now = new Date();
  const row: Payment = {
    id: randomUUID(),
    payerId: actor.userId,
    payeeId: body.payeeId,
    amountMinor: BigInt(body.amountMinor),
    currency: body.currency,
    feeMinor: 0n,
    refundedMinor: 0n,
    refundReservedMinor: 0n,
    articleId: body.articleId ?? null,
    note: body.note ?? null,
    status: 'pending',
    failureReason: '',
    providerChargeId: null,
    createdAt: now,
    updatedAt: now,
    settledAt: null,
  };
  const response = paymentV1.CreatePaymentResponse.encode({
    payment: toPaymentMessage(row),
  }).finish();
  const outcome = await dependencies.insertPayment({
    payment: {
      id: row.id,
      payerId: row.payerId,
      payeeId: row.payeeId,
      amountMinor: body.amountMinor,
      currency: row.currency,
      articleId: row.articleId,
      note: row.note,
      createdAt: now,
    },
    idempotency: {
      key,
      requestHash: hash,
      response,
      ttlHours: dependencies.settings.idempotencyTtlHours,
    },
    outbox: await outboxRow(settlePaymentJob, { paymentId: row.id }),
  });
  switch (outcome.kind) {
    case 'created':
      dependencies.onOutboxWrite?.();
      return paymentV1.CreatePaymentResponse.decode(response);
    case 'stored':
      return paymentV1.CreatePaymentResponse.decode(replay(outcome.stored, hash));
    case 'in-flight':
      throw requestInFlight();
    case 'committed-meanwhile': {
      // The statement's snapshot predates that commit; a new statement sees it.
      const replayed = await replayStored();
      if (replayed) return replayed;
      throw requestInFlight();
    }
  }
}
