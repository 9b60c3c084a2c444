// The error detail convention over a real grpc-js connection: a PaymentService built from the
// generated definition fails the way the contracts say, and the client reads the reason back.
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type handleUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  ERROR_FIELD_METADATA_KEY,
  ERROR_REASON_METADATA_KEY,
  ErrorReason,
  PaymentServiceClient,
  PaymentServiceService,
  Role,
  errorDetailFromMetadata,
  errorDetailToMetadata,
  paymentV1,
  type PaymentServiceServer,
} from './index';

describe('error detail metadata', () => {
  it('writes the reason as its proto enum name and the field as given', () => {
    const metadata = errorDetailToMetadata({
      reason: ErrorReason.MEDIA_TOO_LARGE,
      field: 'content',
    });
    expect(metadata.get(ERROR_REASON_METADATA_KEY)).toEqual(['ERROR_REASON_MEDIA_TOO_LARGE']);
    expect(metadata.get(ERROR_FIELD_METADATA_KEY)).toEqual(['content']);
    expect(errorDetailFromMetadata(metadata)).toEqual({
      reason: ErrorReason.MEDIA_TOO_LARGE,
      field: 'content',
    });
  });

  it('leaves out what is not set and reads unknown reasons as UNRECOGNIZED', () => {
    expect(errorDetailToMetadata({ reason: ErrorReason.UNSPECIFIED }).toJSON()).toEqual({});
    const metadata = new Metadata();
    metadata.set(ERROR_REASON_METADATA_KEY, 'ERROR_REASON_FROM_THE_FUTURE');
    expect(errorDetailFromMetadata(metadata)).toEqual({ reason: ErrorReason.UNRECOGNIZED });
    expect(errorDetailFromMetadata(new Metadata())).toEqual({});
  });

  describe('over a real PaymentService', () => {
    let server: Server;
    let client: PaymentServiceClient;
    const unimplemented =
      <Request, Response>(): handleUnaryCall<Request, Response> =>
      (_call, callback) => {
        callback({ code: status.UNIMPLEMENTED }, null);
      };

    beforeAll(async () => {
      const implementation: PaymentServiceServer = {
        createPayment(call, callback) {
          if (call.request.idempotencyKey === 'used-with-another-body') {
            callback({
              code: status.FAILED_PRECONDITION,
              details: 'idempotency_key: already used with a different request',
              metadata: errorDetailToMetadata({
                reason: ErrorReason.IDEMPOTENCY_KEY_REUSED,
                field: 'idempotency_key',
              }),
            });
            return;
          }
          callback(null, {
            payment: paymentV1.Payment.fromPartial({
              id: 'p1',
              payerId: call.request.actor?.userId ?? '',
              payeeId: call.request.payeeId,
              amount: call.request.amount ?? { amountMinor: 0, currency: '' },
              status: paymentV1.PaymentStatus.PENDING,
              createTime: new Date('2026-11-27T06:56:00.000Z'),
            }),
          });
        },
        getPayment: unimplemented(),
        listPayments: unimplemented(),
        createRefund: unimplemented(),
        getBalance: unimplemented(),
        handleProviderWebhook: unimplemented(),
      };
      server = new Server();
      server.addService(PaymentServiceService, implementation);
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) =>
          error ? reject(error) : resolve(boundPort),
        );
      });
      client = new PaymentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    });

    afterAll(async () => {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    });

    const createPayment = (idempotencyKey: string): Promise<paymentV1.CreatePaymentResponse> =>
      new Promise((resolve, reject) => {
        client.createPayment(
          {
            idempotencyKey,
            actor: { userId: 'payer-1', role: Role.MEMBER },
            payeeId: 'payee-1',
            amount: { amountMinor: 500, currency: 'EUR' },
          },
          new Metadata(),
          { deadline: Date.now() + 5000 },
          (error, response) => (error ? reject(error) : resolve(response)),
        );
      });

    it('returns the typed response with Date timestamps', async () => {
      const { payment } = await createPayment('fresh');
      expect(payment).toMatchObject({
        id: 'p1',
        payerId: 'payer-1',
        payeeId: 'payee-1',
        amount: { amountMinor: 500, currency: 'EUR' },
        status: paymentV1.PaymentStatus.PENDING,
      });
      expect(payment?.createTime).toEqual(new Date('2026-11-27T06:56:00.000Z'));
    });

    it('carries the reason and field of a failure to the client', async () => {
      const error = await createPayment('used-with-another-body').then(
        () => undefined,
        (failure: ServiceError) => failure,
      );
      expect(error?.code).toBe(status.FAILED_PRECONDITION);
      expect(errorDetailFromMetadata(error!.metadata)).toEqual({
        reason: ErrorReason.IDEMPOTENCY_KEY_REUSED,
        field: 'idempotency_key',
      });
    });
  });
});
