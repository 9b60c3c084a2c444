// Benchmark (not a test): what the kit costs a gRPC server per call, against bare grpc-js.
//
//   npm run bench -w @strata/grpc
//   BENCH_CALLS=50000 BENCH_REPS=5 npm run bench -w @strata/grpc
//
// Three servers, each in a child process of its own, answer the same unary Echo call:
//   bare   grpc-js `Server`, a plain callback handler (the floor);
//   unary  grpc-js `Server` without interceptors, the handler wrapped by the kit's `unary()`;
//   kit    `createGrpcServer` (request context, logging at `warn`, metrics, deadline check) + `unary()`.
// This process is the client (32 calls in flight, a deadline and a request id on each). Reported:
// the server process's CPU (user + system, `process.cpuUsage`) per call, for every repetition and
// the minimum: on a shared 2-core VM the minimum is the least disturbed figure.
import { fork } from 'node:child_process';
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import { createLogger } from '@strata/logger';
import { createGrpcServer } from '../src/grpc-server';
import { createMetricsRegistry } from '../src/metrics';
import {
  EchoClient,
  EchoService,
  type EchoRequest,
  type EchoResponse,
  type EchoServer,
} from '../src/testing/echo.service';
import { unary } from '../src/unary.handler';

const VARIANTS = ['bare', 'unary', 'kit'] as const;
type Variant = (typeof VARIANTS)[number];

const CALLS = Number(process.env['BENCH_CALLS'] ?? 20_000);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const IN_FLIGHT = 32;
const WARM_UP_CALLS = 3_000;

type ChildMessage = { port: number } | { cpuMicroseconds: number };

const bareEcho: handleUnaryCall<EchoRequest, EchoResponse> = (call, callback) =>
  callback(null, { text: call.request.text });

function implementation(echo: handleUnaryCall<EchoRequest, EchoResponse>): EchoServer {
  return { echo, relay: echo, ticks: (call) => call.end() };
}

const kitEcho = unary<EchoRequest, EchoResponse>((request) =>
  Promise.resolve({ text: request.text }),
);

async function startServer(variant: Variant): Promise<number> {
  if (variant === 'kit') {
    const server = createGrpcServer({
      name: 'echo',
      logger: createLogger({ name: 'echo', level: 'warn' }),
      port: 0,
      host: '127.0.0.1',
      readiness: () => Promise.resolve(true),
      metricsRegistry: createMetricsRegistry({ defaultMetrics: false }),
    });
    server.addService(EchoService, implementation(kitEcho));
    return server.start();
  }
  const server = new Server();
  server.addService(EchoService, implementation(variant === 'bare' ? bareEcho : kitEcho));
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

async function runServer(variant: Variant): Promise<void> {
  const port = await startServer(variant);
  let since = process.cpuUsage();
  process.on('message', (message: string) => {
    if (message === 'start') {
      since = process.cpuUsage();
      return;
    }
    const used = process.cpuUsage(since);
    process.send?.({ cpuMicroseconds: used.user + used.system } satisfies ChildMessage);
  });
  process.send?.({ port } satisfies ChildMessage);
}

function nextMessage(child: ReturnType<typeof fork>): Promise<ChildMessage> {
  return new Promise((resolve) =>
    child.once('message', (message) => resolve(message as ChildMessage)),
  );
}

async function measure(variant: Variant): Promise<number> {
  const child = fork(__filename, [variant], { execArgv: process.execArgv });
  try {
    const ready = await nextMessage(child);
    if (!('port' in ready)) throw new Error('the server did not report its port');
    const client = new EchoClient(`127.0.0.1:${ready.port}`, credentials.createInsecure());
    const call = () =>
      new Promise<void>((resolve, reject) => {
        const metadata = new Metadata();
        metadata.set('x-request-id', 'bench-request');
        client.echo({ text: 'hello' }, metadata, { deadline: Date.now() + 5_000 }, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    const run = async (calls: number) => {
      let started = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (started < calls) {
            started += 1;
            await call();
          }
        }),
      );
    };
    await run(WARM_UP_CALLS);
    child.send('start');
    await run(CALLS);
    child.send('stop');
    const used = await nextMessage(child);
    client.close();
    if (!('cpuMicroseconds' in used)) throw new Error('the server did not report its CPU');
    return used.cpuMicroseconds / CALLS;
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const results = new Map<Variant, number[]>(VARIANTS.map((variant) => [variant, []]));
  // Interleaved, so a slow minute of the host touches every variant alike.
  for (let rep = 0; rep < REPS; rep += 1) {
    for (const variant of VARIANTS) results.get(variant)?.push(await measure(variant));
  }
  const summary = VARIANTS.map((variant) => {
    const perCall = results.get(variant) ?? [];
    return {
      variant,
      serverCpuMicrosecondsPerCall: perCall.map((value) => Math.round(value)),
      min: Math.round(Math.min(...perCall)),
    };
  });
  process.stdout.write(
    `${JSON.stringify({ calls: CALLS, inFlight: IN_FLIGHT, summary }, null, 2)}\n`,
  );
}

const variant = process.argv[2];
if (variant === undefined) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  });
} else if ((VARIANTS as readonly string[]).includes(variant)) {
  void runServer(variant as Variant);
} else {
  throw new Error(`unknown variant ${variant}`);
}
