// Child process: the HTTP baseline. A bare Fastify 5 app (no logger, no plugins) answering every
// GET with the bytes and headers the gateway sent for the scenario's request, so Nginx → this app
// moves exactly what Nginx → gateway moves, minus everything Strata does per request.
import Fastify from 'fastify';
import { childArguments, sendToParent } from './child-process';

interface ResponseCopy {
  readonly body: string;
  readonly headers: Record<string, string>;
}

interface BaselineHttpOptions {
  readonly port: number;
  /** What the gateway answered to the hot read (a list page) and to the warm read (an article). */
  readonly list: ResponseCopy;
  readonly article: ResponseCopy;
}

async function main(): Promise<void> {
  const options = childArguments<BaselineHttpOptions>();
  const app = Fastify({ logger: false });
  const list = Buffer.from(options.list.body);
  const article = Buffer.from(options.article.body);
  app.get('/v1/articles', (_request, reply) => {
    void reply.headers(options.list.headers).send(list);
  });
  app.get('/v1/articles/:idOrSlug', (_request, reply) => {
    void reply.headers(options.article.headers).send(article);
  });
  app.get('/healthz', (_request, reply) => {
    void reply.send({ status: 'ok' });
  });
  await app.listen({ host: '127.0.0.1', port: options.port });
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
  sendToParent({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
