// Wire round trips through the generated codecs: what one service encodes, another decodes
// unchanged, with the ts-proto options we chose (Date timestamps, int64 as number, presence).
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Timestamp } from './generated/google/protobuf/timestamp';
import {
  ContentServiceService,
  HealthService,
  Money,
  PaymentServiceService,
  Role,
  UserServiceService,
  contentV1,
  paymentV1,
  userV1,
} from './index';

const roundTrip = <Message>(
  codec: { encode(message: Message): BinaryWriter; decode(input: Uint8Array): Message },
  message: Message,
): Message => codec.decode(codec.encode(message).finish());

describe('Money', () => {
  it('encodes to the canonical protobuf bytes', () => {
    // field 1 varint 1234 (08 d2 09), field 2 length-delimited "EUR" (12 03 45 55 52)
    const bytes = Money.encode({ amountMinor: 1234, currency: 'EUR' }).finish();
    expect(Buffer.from(bytes).toString('hex')).toBe('08d2091203455552');
  });

  it.each([0, 1, -250, 999_999_999_99, Number.MAX_SAFE_INTEGER])(
    'round-trips amount %p exactly',
    (amountMinor) => {
      expect(roundTrip(Money, { amountMinor, currency: 'GBP' })).toEqual({
        amountMinor,
        currency: 'GBP',
      });
    },
  );

  it('refuses to decode an int64 above 2^53 instead of losing precision', () => {
    const bytes = new BinaryWriter()
      .uint32((1 << 3) | 0)
      .int64(2n ** 60n)
      .finish();
    expect(() => Money.decode(bytes)).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('Timestamp', () => {
  it('maps to Date with millisecond precision', () => {
    const at = new Date('2026-11-27T06:56:01.234Z');
    const payment = roundTrip(paymentV1.Payment, paymentV1.Payment.fromPartial({ createTime: at }));
    expect(payment.createTime).toEqual(at);
  });

  it('is written as google.protobuf.Timestamp seconds + nanos on the wire', () => {
    const at = new Date('2026-11-27T06:56:01.234Z');
    const bytes = paymentV1.Payment.encode(
      paymentV1.Payment.fromPartial({ createTime: at }),
    ).finish();
    // Payment.create_time is field 11: tag (11 << 3 | 2) = 0x5a, then a length, then the message.
    expect(bytes[0]).toBe(0x5a);
    const timestamp = Timestamp.decode(bytes.subarray(2, 2 + bytes[1]));
    expect(timestamp).toEqual({ seconds: Math.floor(at.getTime() / 1000), nanos: 234_000_000 });
  });
});

describe('payment.v1.Payment', () => {
  const settled: paymentV1.Payment = {
    id: '0193a0b2-7c1e-7d2a-9f3b-4c5d6e7f8091',
    payerId: 'payer-1',
    payeeId: 'payee-1',
    amount: { amountMinor: 500, currency: 'EUR' },
    fee: { amountMinor: 25, currency: 'EUR' },
    refundedAmount: { amountMinor: 100, currency: 'EUR' },
    articleId: 'article-1',
    note: 'thanks!',
    status: paymentV1.PaymentStatus.PARTIALLY_REFUNDED,
    failureReason: '',
    createTime: new Date('2026-11-27T06:00:00.000Z'),
    updateTime: new Date('2026-11-27T06:05:00.000Z'),
    settleTime: new Date('2026-11-27T06:00:02.500Z'),
  };

  it('round-trips every field', () => {
    expect(roundTrip(paymentV1.Payment, settled)).toEqual(settled);
  });

  it('keeps absent optional fields absent (no article, no note, not settled)', () => {
    const pending = paymentV1.Payment.fromPartial({
      id: 'p2',
      amount: { amountMinor: 100, currency: 'USD' },
      status: paymentV1.PaymentStatus.PENDING,
    });
    const decoded = roundTrip(paymentV1.Payment, pending);
    expect(decoded.articleId).toBeUndefined();
    expect(decoded.note).toBeUndefined();
    expect(decoded.settleTime).toBeUndefined();
    expect(decoded.status).toBe(paymentV1.PaymentStatus.PENDING);
  });

  it('uses the prefixed proto enum names in JSON', () => {
    expect(paymentV1.paymentStatusToJSON(paymentV1.PaymentStatus.SETTLED)).toBe(
      'PAYMENT_STATUS_SETTLED',
    );
    expect(paymentV1.paymentStatusFromJSON('PAYMENT_STATUS_FAILED')).toBe(
      paymentV1.PaymentStatus.FAILED,
    );
  });
});

describe('content.v1.Article', () => {
  const article: contentV1.Article = {
    id: '0193a0b2-0000-7000-8000-000000000001',
    slug: 'hello-world',
    title: 'Hello, world',
    body: '# Hello\n\n<script>alert(1)</script>',
    bodyHtml: '<h1>Hello</h1>',
    excerpt: 'Hello',
    tags: ['intro', 'news'],
    author: { userId: 'author-1', displayName: 'Ada' },
    status: contentV1.ArticleStatus.PUBLISHED,
    createTime: new Date('2026-11-01T00:00:00.000Z'),
    updateTime: new Date('2026-11-02T00:00:00.000Z'),
    publishTime: new Date('2026-11-02T00:00:00.000Z'),
  };

  it('round-trips every field, tags in order', () => {
    expect(roundTrip(contentV1.Article, article)).toEqual(article);
  });

  it('tells "leave tags alone" from "remove all tags" in an update', () => {
    const untouched = roundTrip(
      contentV1.UpdateArticleRequest,
      contentV1.UpdateArticleRequest.fromPartial({ articleId: 'a1', title: 'New' }),
    );
    const cleared = roundTrip(
      contentV1.UpdateArticleRequest,
      contentV1.UpdateArticleRequest.fromPartial({ articleId: 'a1', tags: { values: [] } }),
    );
    expect(untouched.tags).toBeUndefined();
    expect(untouched.body).toBeUndefined();
    expect(cleared.tags).toEqual({ values: [] });
    expect(cleared.title).toBeUndefined();
  });
});

describe('user.v1 presence', () => {
  it('keeps an explicit empty bio (clear it) distinct from an absent one (keep it)', () => {
    const actor = { userId: 'u1', role: Role.MEMBER };
    const clear = roundTrip(userV1.UpdateProfileRequest, { actor, bio: '' });
    const keep = roundTrip(userV1.UpdateProfileRequest, { actor, displayName: 'Ada' });
    expect(clear).toEqual({ actor, bio: '' });
    expect('bio' in keep && keep.bio !== undefined).toBe(false);
    expect(keep.displayName).toBe('Ada');
  });
});

describe('service definitions', () => {
  const pathsOf = (service: Record<string, { path: string }>): string[] =>
    Object.values(service).map((method) => method.path);

  it('expose every RPC of user.v1.UserService', () => {
    expect(pathsOf(UserServiceService)).toEqual(
      [
        'Register',
        'Authenticate',
        'RefreshSession',
        'RevokeSession',
        'VerifyEmail',
        'RequestPasswordReset',
        'ResetPassword',
        'GetUser',
        'BatchGetUsers',
        'GetUserContact',
        'UpdateProfile',
        'SetUserRole',
        'GetSigningKeys',
      ].map((rpc) => `/user.v1.UserService/${rpc}`),
    );
  });

  it('expose every RPC of payment.v1.PaymentService', () => {
    expect(pathsOf(PaymentServiceService)).toEqual(
      [
        'CreatePayment',
        'GetPayment',
        'ListPayments',
        'CreateRefund',
        'GetBalance',
        'HandleProviderWebhook',
      ].map((rpc) => `/payment.v1.PaymentService/${rpc}`),
    );
  });

  it('expose every RPC of content.v1.ContentService', () => {
    expect(pathsOf(ContentServiceService)).toEqual(
      [
        'CreateArticle',
        'UpdateArticle',
        'PublishArticle',
        'DeleteArticle',
        'GetArticle',
        'ListArticles',
        'CreateComment',
        'ListComments',
        'DeleteComment',
        'CreateMedia',
        'GetMedia',
        'GetMediaVariant',
      ].map((rpc) => `/content.v1.ContentService/${rpc}`),
    );
  });

  it('expose the standard health service under its fixed name', () => {
    expect(pathsOf(HealthService)).toEqual([
      '/grpc.health.v1.Health/Check',
      '/grpc.health.v1.Health/Watch',
    ]);
    expect(HealthService.watch.responseStream).toBe(true);
  });
});
