import { paymentV1 } from '@strata/contracts';
import { invalidArgument, notFound } from '@strata/grpc';
import { type PaymentDatabase } from '../database';
import { requireActor, requireUuid } from '../grpc/request-validation';
import { toPaymentMessage, toRefundMessage } from './payment.mapping';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

/** GetPayment: payer, payee or admin; anyone else gets NOT_FOUND (existence is not revealed). */
export async function getPayment(
  database: PaymentDatabase,
  request: paymentV1.GetPaymentRequest,
): Promise<paymentV1.GetPaymentResponse> {
  const actor = requireActor(request.actor);
  const paymentId = requireUuid('payment_id', request.paymentId);
  const payment = await database.payment.findUnique({
    where: { id: paymentId },
    include: { refunds: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
  });
  if (
    !payment ||
    (!actor.isAdmin && payment.payerId !== actor.userId && payment.payeeId !== actor.userId)
  ) {
    throw notFound('payment not found');
  }
  return { payment: toPaymentMessage(payment), refunds: payment.refunds.map(toRefundMessage) };
}

interface PageToken {
  /** Direction the token was issued for: reusing it with the other one is INVALID_ARGUMENT. */
  d: number;
  /** create_time (ms) and id of the last payment of the previous page. */
  t: number;
  i: string;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(raw: string, direction: number): PageToken {
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<PageToken>;
    if (
      token.d === direction &&
      Number.isSafeInteger(token.t) &&
      typeof token.i === 'string' &&
      /^[0-9a-f-]{36}$/.test(token.i)
    ) {
      return token as PageToken;
    }
  } catch {
    // fall through
  }
  throw invalidArgument('page_token', 'malformed, or issued for another direction');
}

/** ListPayments: keyset pagination on (create_time, id) descending, served by the listing indexes. */
export async function listPayments(
  database: PaymentDatabase,
  request: paymentV1.ListPaymentsRequest,
): Promise<paymentV1.ListPaymentsResponse> {
  const actor = requireActor(request.actor);
  const direction = request.direction;
  if (
    direction !== paymentV1.PaymentDirection.SENT &&
    direction !== paymentV1.PaymentDirection.RECEIVED
  ) {
    throw invalidArgument('direction', 'must be SENT or RECEIVED');
  }
  if (request.pageSize < 0 || request.pageSize > MAX_PAGE_SIZE)
    throw invalidArgument('page_size', `must be 0 to ${MAX_PAGE_SIZE}`);
  const pageSize = request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
  const after = request.pageToken === '' ? undefined : decodeToken(request.pageToken, direction);
  const side =
    direction === paymentV1.PaymentDirection.SENT
      ? { payerId: actor.userId }
      : { payeeId: actor.userId };
  const rows = await database.payment.findMany({
    where: {
      ...side,
      ...(after
        ? {
            OR: [
              { createdAt: { lt: new Date(after.t) } },
              { createdAt: new Date(after.t), id: { lt: after.i } },
            ],
          }
        : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: pageSize + 1,
  });
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    payments: page.map(toPaymentMessage),
    nextPageToken:
      rows.length > pageSize && last
        ? encodeToken({ d: direction, t: last.createdAt.getTime(), i: last.id })
        : '',
  };
}
