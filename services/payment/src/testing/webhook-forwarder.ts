import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type PaymentServiceClient } from '@strata/contracts';
import { type GrpcClient } from '@strata/grpc';

export interface WebhookForwarder {
  readonly url: string;
  deliveries: number;
  close(): Promise<void>;
}

/** Plays the gateway's POST /v1/webhooks/psp: raw body + headers → HandleProviderWebhook; 204 on success. */
export async function startWebhookForwarder(
  client: () => GrpcClient<PaymentServiceClient> | undefined,
): Promise<WebhookForwarder> {
  const forwarder = { deliveries: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      forwarder.deliveries += 1;
      const target = client();
      if (!target) {
        response.statusCode = 503;
        response.end();
        return;
      }
      target
        .handleProviderWebhook({
          payload: Buffer.concat(chunks),
          signature: String(request.headers['psp-signature'] ?? ''),
          timestamp: String(request.headers['psp-timestamp'] ?? ''),
        })
        .then(
          () => {
            response.statusCode = 204;
            response.end();
          },
          () => {
            response.statusCode = 500;
            response.end();
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(forwarder, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/webhooks/psp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
