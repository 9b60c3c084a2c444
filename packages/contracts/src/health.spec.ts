// Proves the generated grpc-js code works end to end: a real server and client on loopback,
// both built only from the generated definitions.
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
  type HealthCheckResponse,
  type HealthServer,
} from './index';

const KNOWN_SERVICE = 'user.v1.UserService';

describe('grpc.health.v1 generated service', () => {
  let server: Server;
  let client: HealthClient;

  beforeAll(async () => {
    const implementation: HealthServer = {
      check(call, callback) {
        if (call.request.service === '' || call.request.service === KNOWN_SERVICE) {
          callback(null, { status: HealthCheckResponse_ServingStatus.SERVING });
          return;
        }
        callback({ code: status.NOT_FOUND, details: 'unknown service' }, null);
      },
      watch(call) {
        call.write({ status: HealthCheckResponse_ServingStatus.SERVING });
        call.write({ status: HealthCheckResponse_ServingStatus.NOT_SERVING });
        call.end();
      },
    };
    server = new Server();
    server.addService(HealthService, implementation);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      );
    });
    client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const check = (service: string): Promise<HealthCheckResponse> =>
    new Promise((resolve, reject) => {
      client.check(
        { service },
        new Metadata(),
        { deadline: Date.now() + 5000 },
        (error, response) => (error ? reject(error) : resolve(response)),
      );
    });

  it('Check answers SERVING for the whole server and a known service', async () => {
    await expect(check('')).resolves.toEqual({ status: HealthCheckResponse_ServingStatus.SERVING });
    await expect(check(KNOWN_SERVICE)).resolves.toEqual({
      status: HealthCheckResponse_ServingStatus.SERVING,
    });
  });

  it('Check fails with NOT_FOUND for an unknown service', async () => {
    await expect(check('nope.v1.Nope')).rejects.toMatchObject<Partial<ServiceError>>({
      code: status.NOT_FOUND,
    });
  });

  it('Watch streams every status change in order', async () => {
    const stream = client.watch({ service: '' }, { deadline: Date.now() + 5000 });
    const received: HealthCheckResponse_ServingStatus[] = [];
    for await (const message of stream as AsyncIterable<HealthCheckResponse>) {
      received.push(message.status);
    }
    expect(received).toEqual([
      HealthCheckResponse_ServingStatus.SERVING,
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    ]);
  });
});
