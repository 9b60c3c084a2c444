// Benchmark (not a test): CreatePayment throughput and latency through the real gRPC API, with the
// settlement worker and outbox relay running, against real PostgreSQL, Redis and the simulator.
//
//   npm run bench -w @strata/payment-service            (both phases, defaults below)
//   BENCH_SECONDS=20 BENCH_RATE=500 npm run bench -w @strata/payment-service
//
// Phase 1 (throughput): BENCH_CONCURRENCY callers in closed loop for BENCH_SECONDS → creates/s.
// Phase 2 (latency): once the settlement backlog of phase 1 has drained, an open-loop schedule of
// BENCH_RATE creates/s for BENCH_LATENCY_SECONDS (default BENCH_SECONDS) → p50/p99 (the worker
// settles that stream meanwhile). It starts from a CHECKPOINT (see there; BENCH_CHECKPOINT=0
// skips it).
// Processes, as in production: the gRPC server and the worker (settlement + outbox relay) each run
// in their own Node process (scripts/bench-process.ts); this process is only the load generator
// (and the fake user service, whose answers the payee cache keeps off the hot path). PostgreSQL,
// Redis and the simulator are separate processes too. On the 2-core box all of them share the
// CPU, so the numbers are conservative. The load average is printed with the result: above ~3
// (other jobs on the machine) the numbers say more about the neighbours than about the service.
//
//   BENCH_POOL (20)         DB_POOL_MAX of the server and of the worker
//   BENCH_BATCH (20)        SETTLEMENT_BATCH_MAX_SIZE of the worker (1 = one statement per payment)
//   BENCH_CREATE_BATCH (32) CREATE_PAYMENT_BATCH_MAX_SIZE of the server (1 = one statement per create)
//   BENCH_CREATE_LINGER_MS  CREATE_PAYMENT_BATCH_LINGER_MS of the server (default: the config's, 4)
//   BENCH_RELAY_INTERVAL_MS OUTBOX_RELAY_INTERVAL_MS of the worker (default: the config's, 20)
//   BENCH_LATENCY_SECONDS   phase 2's length (default BENCH_SECONDS); > 30 includes the kernel's
//                           writeback of phase 2's own dirty pages (see the CHECKPOINT below)
//   BENCH_CHECKPOINT (1)    0 = phase 2 starts without a CHECKPOINT (pays phase 1's writeback)
//   BENCH_SETTLEMENT_CONCURRENCY (100)  SETTLEMENT_CONCURRENCY of the worker
//   BENCH_SEED_PAYMENTS (20000)  settled payments in the database before the run (history: a
//                           table in service is not empty, and has statistics; see seedHistory);
//                           0 = a new database without statistics (the bench before session 6)
//   BENCH_WORKER_NICE (0)   the worker process's nice value (diagnostic: does settlement keep up
//                           when request serving has the CPU first?)
//   BENCH_CLIENT (native)   the load generator's gRPC client for both phases: native (the C
//                           client of load-client.c on libnghttp2, built on first use; no GC
//                           pauses, ~1/10 of the CPU: see runNativeLoad), http2 (gRPC's wire format
//                           over node:http2, see createHttp2LoadClient; the bench's client in
//                           sessions 9–10, and what it falls back to when the C client cannot be
//                           built) or grpc-js (a bare grpc-js client, the client before session 9)
//   BENCH_WORKER (1)        0 = no worker process (diagnostic only: shows the create path's own
//                           ceiling; the acceptance number is with the worker running)
//   BENCH_CPU_PROF_DIR      when set, the server and the worker run with --cpu-prof into that
//                           folder, and the load generator profiles its own phase 1 there
//                           (load-generator.cpuprofile); open them in Chrome DevTools
//   BENCH_LOG_DIR           when set, the server's and the worker's output go to <role>.log there
//   BENCH_RATE=0            skips phase 2 (e.g. to profile phase 1 alone)
//   BENCH_LATENCY_TRACE     a file: phase 2 writes each create's send time and latency there (TSV)
import { createHash, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { paymentV1, PaymentServiceService, Role } from '@strata/contracts';
import { createTestDatabase, createTestRedis } from '@strata/testing';
import { PLATFORM_OWNER_ID } from '../src/ledger/ledger.repository';
import { startFakeUserService } from '../src/testing/fake-user-service';
import {
  PSP_API_KEY,
  PSP_WEBHOOK_SECRET,
  REGISTER_TS,
  startPsp,
  stopProcess,
  waitForLine,
} from '../src/testing/psp-process';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? SECONDS);
const CHECKPOINT_BEFORE_LATENCY = process.env.BENCH_CHECKPOINT !== '0';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const POOL = process.env.BENCH_POOL ?? '20';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
const LOG_DIR = process.env.BENCH_LOG_DIR;
/** With BENCH_LOG_DIR: the server and the worker log every GC (`--trace-gc`) there. */
const TRACE_GC = process.env.BENCH_TRACE_GC === '1';
/** Extra Node flags for the server and the worker (space-separated), e.g. GC settings. */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const WITH_WORKER = process.env.BENCH_WORKER !== '0';
const REQUESTED_CLIENT = process.env.BENCH_CLIENT ?? 'native';
if (!['native', 'http2', 'grpc-js'].includes(REQUESTED_CLIENT))
  throw new Error(`BENCH_CLIENT must be native, http2 or grpc-js, not ${REQUESTED_CLIENT}`);
const SETTLEMENT_BATCH = process.env.BENCH_BATCH ?? '20';
const CREATE_BATCH = process.env.BENCH_CREATE_BATCH ?? '32';
const CREATE_LINGER_MS = process.env.BENCH_CREATE_LINGER_MS;
const RELAY_INTERVAL_MS = process.env.BENCH_RELAY_INTERVAL_MS;
const SETTLEMENT_CONCURRENCY = process.env.BENCH_SETTLEMENT_CONCURRENCY ?? '100';
const WORKER_NICE = Number(process.env.BENCH_WORKER_NICE ?? 0);
const SEED_PAYMENTS = Number(process.env.BENCH_SEED_PAYMENTS ?? 20_000);
/** When set, phase 2 writes each create's send time and latency there (TSV): when the tail happens. */
const LATENCY_TRACE = process.env.BENCH_LATENCY_TRACE;
/** Unmeasured start of phase 2 (see there). */
const LEAD_IN_MS = 1_000;
/** How long phase 2 waits for phase 1's settlement backlog to drain. */
const DRAIN_LIMIT_MS = 180_000;
/** Request bodies the native client gets per second of phase 1: more than this host can create. */
const NATIVE_MAX_CREATES_PER_SECOND = 6_000;

const load = () => loadavg().map((value) => Number(value.toFixed(2)));

async function startChild(
  role: 'server' | 'worker',
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const entry = path.join(__dirname, 'bench-process.ts');
  const profile =
    CPU_PROF_DIR === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${role}.cpuprofile`];
  const child = spawn(
    process.execPath,
    [
      ...profile,
      ...(TRACE_GC ? ['--trace-gc'] : []),
      ...NODE_FLAGS,
      '--conditions=@strata/source',
      '-r',
      REGISTER_TS,
      entry,
    ],
    {
      env: { PATH: process.env.PATH ?? '', ...env, BENCH_ROLE: role },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const ready = await waitForLine(child, 'bench process ready', 60_000);
  // Keep draining the child's output so that a chatty log cannot block it on a full pipe.
  if (LOG_DIR === undefined) {
    child.stdout?.resume();
    child.stderr?.resume();
  } else {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = createWriteStream(path.join(LOG_DIR, `${role}.log`));
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  return { child, port: Number(ready.port) };
}

/**
 * A database in service: SEED_PAYMENTS settled payments between the bench's people, with what
 * settling them wrote (ledger accounts, transactions and postings, idempotency records, published
 * outbox rows), then statistics, as autovacuum keeps them (this database is younger than its first
 * autovacuum round). Without both, the services' long-lived connections keep the generic plans
 * they chose while the tables were nearly empty, and nothing invalidates them during a run:
 * sequential scans of `payments` for the settlement statements (measured: ~1,700 per 12 s at
 * 500/s, each reading the whole table), and of `postings` in the ledger's balance trigger once a
 * table was analyzed empty. They were most of PostgreSQL's CPU. The rows go in with SQL, not
 * through the API: history, not load.
 */
async function seedHistory(sql: Pool, people: readonly string[]): Promise<void> {
  // 0: a new, empty database without statistics, as the bench ran before session 6.
  if (SEED_PAYMENTS === 0) return;
  const started = performance.now();
  await sql.query('BEGIN');
  await sql.query(
    `INSERT INTO ledger_accounts (id, kind, user_id, currency)
     SELECT gen_random_uuid(), kind::ledger_account_kind, user_id, 'EUR'
     FROM (VALUES ('provider_clearing', $2::uuid), ('fee_revenue', $2::uuid)) AS platform (kind, user_id)
     UNION ALL
     SELECT gen_random_uuid(), 'user', person, 'EUR' FROM unnest($1::uuid[]) AS person`,
    [people, PLATFORM_OWNER_ID],
  );
  await sql.query(
    `WITH history AS (
       SELECT gen_random_uuid() AS id, i, $1::uuid[] AS people, cardinality($1::uuid[]) AS n,
              500 + i % 1000 AS amount, now() - make_interval(secs => i) AS at
       FROM generate_series(1, $2::int) AS i
     ),
     paid AS (
       INSERT INTO payments (id, payer_id, payee_id, amount_minor, currency, fee_minor, status,
                             provider_charge_id, created_at, updated_at, settled_at)
       SELECT id, people[1 + i % n], people[1 + (i + 1) % n], amount, 'EUR', 0, 'settled',
              'seed-' || i, at, at, at
       FROM history
       RETURNING id, payer_id, payee_id, amount_minor, created_at
     ),
     remembered AS (
       INSERT INTO idempotency_keys (scope, actor_id, key, request_hash, response, resource_id,
                                     created_at, expires_at)
       SELECT 'create_payment', payer_id, 'seed-' || id, repeat('0', 64), decode('00', 'hex'), id, created_at,
              created_at + interval '24 hours'
       FROM paid
     ),
     relayed AS (
       INSERT INTO outbox_events (id, queue, name, payload, options, created_at, published_at, attempts)
       SELECT gen_random_uuid(), 'payment-settlement', 'settle-payment',
              jsonb_build_object('paymentId', id), '{}', created_at, created_at, 1
       FROM paid
     ),
     booked AS (
       INSERT INTO ledger_transactions (id, kind, reference, payment_id, created_at)
       SELECT gen_random_uuid(), 'settlement', 'settlement:' || id, id, created_at FROM paid
       RETURNING id, payment_id
     )
     INSERT INTO postings (transaction_id, account_id, currency, amount_minor, created_at)
     SELECT booked.id, account.id, 'EUR', leg.amount, paid.created_at
     FROM booked
     JOIN paid ON paid.id = booked.payment_id
     CROSS JOIN LATERAL (VALUES ('provider_clearing'::ledger_account_kind, $3::uuid, -paid.amount_minor),
                                ('user', paid.payee_id, paid.amount_minor)) AS leg (kind, owner, amount)
     JOIN ledger_accounts AS account
       ON account.kind = leg.kind AND account.user_id = leg.owner AND account.currency = 'EUR'`,
    [people, SEED_PAYMENTS, PLATFORM_OWNER_ID],
  );
  await sql.query('COMMIT');
  await sql.query('ANALYZE');
  process.stderr.write(
    `seeded ${SEED_PAYMENTS} settled payments in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

const KEY_PLACEHOLDER = '00000000-0000-4000-8000-000000000000';
const DEADLINE_MS = 10_000;

/** Request bodies encoded once per payer; only the idempotency key is written per request. */
function requestTemplates(people: readonly string[]) {
  const templates = people.map((payer, index) => {
    const body = Buffer.from(
      paymentV1.CreatePaymentRequest.encode({
        idempotencyKey: KEY_PLACEHOLDER,
        actor: { userId: payer, role: Role.MEMBER },
        payeeId: people[(index + 1) % people.length],
        amount: { amountMinor: 500 + index, currency: 'EUR' },
      }).finish(),
    );
    return { body, keyOffset: body.indexOf(KEY_PLACEHOLDER) };
  });
  return (sequence: number, prefix = 0): Buffer => {
    const template = templates[sequence % templates.length];
    const body = Buffer.alloc(prefix + template.body.length);
    template.body.copy(body, prefix);
    body.write(randomUUID(), prefix + template.keyOffset, 'latin1');
    return body;
  };
}

/**
 * One request as gRPC puts it on the wire: the 5-byte message prefix (not compressed, then the
 * length, big-endian), then the message.
 */
function requestFrame(requestBody: ReturnType<typeof requestTemplates>, sequence: number): Buffer {
  const frame = requestBody(sequence, 5);
  frame.writeUInt32BE(frame.length - 5, 1);
  return frame;
}

interface LoadClient {
  /** Resolves to the encoded CreatePaymentResponse. */
  createPayment(sequence: number): Promise<Buffer>;
  close(): void;
}

/**
 * The load generator's client. It is not the system under test, so it is kept lean: a bare
 * grpc-js client (no interceptors, no retries, no request context; the service's own client kit
 * costs ~3× the CPU per call) sending request bodies encoded once per payer, with only the
 * idempotency key written into a copy per request (a UUID is always 36 ASCII bytes). Payer i tips
 * payee i + 1, amounts 500 + i minor units; the server still parses and validates every request.
 */
function createGrpcJsLoadClient(target: string, people: readonly string[]): LoadClient {
  const client = new Client(target, credentials.createInsecure(), { 'grpc.enable_retries': 0 });
  const { path: methodPath } = PaymentServiceService.createPayment;
  const requestBody = requestTemplates(people);
  const identity = (buffer: Buffer) => buffer;
  return {
    createPayment(sequence: number): Promise<Buffer> {
      const body = requestBody(sequence);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          methodPath,
          identity,
          identity,
          body,
          new Metadata(),
          { deadline: Date.now() + DEADLINE_MS },
          (error, response) => {
            if (error) reject(error);
            else if (!response) reject(new Error('empty response'));
            else resolve(response);
          },
        );
      });
    },
    close: () => client.close(),
  };
}

/**
 * The same calls as gRPC over one HTTP/2 connection of node:http2, without grpc-js's client
 * (channel, call stack, metadata, status objects): what h2load or ghz would send, at about half
 * the load generator's CPU per call (services/payment/README.md, "Session 9"). The wire format is
 * gRPC's: a POST of one length-prefixed message, the status in the trailers (or, for an error
 * without a body, in the headers: "trailers-only").
 */
function createHttp2LoadClient(target: string, people: readonly string[]): LoadClient {
  const session = http2.connect(`http://${target}`);
  session.on('error', (error: Error) => process.stderr.write(`load client: ${error.message}\n`));
  const { path: methodPath } = PaymentServiceService.createPayment;
  const requestBody = requestTemplates(people);
  const headers = {
    ':method': 'POST',
    ':path': methodPath,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-timeout': `${DEADLINE_MS}m`,
  };
  const header = (headers: http2.IncomingHttpHeaders, name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const statusError = (headers: http2.IncomingHttpHeaders): Error =>
    new Error(
      `gRPC status ${header(headers, 'grpc-status')}: ${decodeURIComponent(header(headers, 'grpc-message') ?? '')}`,
    );
  return {
    createPayment(sequence: number): Promise<Buffer> {
      const frame = requestFrame(requestBody, sequence);
      return new Promise((resolve, reject) => {
        const stream = session.request(headers);
        const chunks: Buffer[] = [];
        let settled = false;
        const finish = (error: Error | undefined, value?: Buffer) => {
          if (settled) return;
          settled = true;
          if (error) reject(error);
          else resolve(value ?? Buffer.alloc(0));
        };
        stream.on('response', (responseHeaders: http2.IncomingHttpHeaders) => {
          const status = header(responseHeaders, 'grpc-status');
          if (status !== undefined && status !== '0') finish(statusError(responseHeaders));
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
          if (header(trailers, 'grpc-status') !== '0') return finish(statusError(trailers));
          const message = Buffer.concat(chunks);
          if (message.length < 5 || message.readUInt32BE(1) !== message.length - 5)
            return finish(new Error(`malformed response (${message.length} bytes)`));
          finish(undefined, message.subarray(5));
        });
        stream.on('error', (error: Error) => finish(error));
        stream.on('close', () => finish(new Error(`stream closed (code ${stream.rstCode})`)));
        stream.end(frame);
      });
    },
    close: () => session.close(),
  };
}

/** `count` request frames, one after the other, as the native client reads them. */
function requestFrames(
  requestBody: ReturnType<typeof requestTemplates>,
  firstSequence: number,
  count: number,
): Buffer {
  return Buffer.concat(
    Array.from({ length: count }, (_, index) => requestFrame(requestBody, firstSequence + index)),
  );
}

/**
 * Builds the C load client (load-client.c) once per version of its source, into the temporary
 * directory. Undefined, with the reason on stderr, where it cannot be built (no C compiler, or no
 * libnghttp2 headers: Debian's libnghttp2-dev): the bench then runs the node:http2 client.
 */
function buildNativeLoadClient(): string | undefined {
  const source = path.join(__dirname, 'load-client.c');
  const digest = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const binary = path.join(tmpdir(), `strata-payment-load-client-${digest}`);
  if (existsSync(binary)) return binary;
  try {
    execFileSync('cc', ['-O2', '-o', binary, source, '-lnghttp2'], { stdio: 'pipe' });
    return binary;
  } catch (error) {
    // The compiler's first complaint, or why it did not run at all (no `cc`: ENOENT).
    const compilerOutput =
      error instanceof Error && 'stderr' in error && Buffer.isBuffer(error.stderr)
        ? error.stderr.toString()
        : '';
    const reason =
      compilerOutput.trim().split('\n')[0] || (error instanceof Error ? error.message : '?');
    process.stderr.write(
      `the native load client cannot be built (${reason}): the node:http2 client runs instead\n`,
    );
    return undefined;
  }
}

interface NativeLoadResult {
  completed: number;
  errors: number;
  submitted: number;
  bodiesRanOut: boolean;
  wallSeconds: number;
  cpuSeconds: number;
  errorMessages: string[];
  firstAnswerHex: string;
  /** Open loop only, per measured call: [sent ms after the measured start, latency ms (-1: failed), send lag ms]. */
  calls?: Array<[number, number, number]>;
}

/**
 * One phase driven by the C load client: a process of its own, with its own HTTP/2 connection,
 * sending the request frames written to a file here, each once and in order (every create has
 * its own idempotency key; neither h2load nor ghz can vary a body per request). Closed loop with
 * `concurrency`, or an open-loop schedule with `rate` (the first `leadInMs` unmeasured). Its CPU
 * time comes back in the result: it has exited when /proc is read.
 */
async function runNativeLoad(
  binary: string,
  target: string,
  frames: Buffer,
  shape: { concurrency: number } | { rate: number; leadInMs: number },
  seconds: number,
): Promise<NativeLoadResult> {
  const directory = mkdtempSync(path.join(tmpdir(), 'strata-payment-bench-'));
  try {
    const bodies = path.join(directory, 'bodies');
    writeFileSync(bodies, frames);
    const loadShape =
      'concurrency' in shape
        ? ['--concurrency', String(shape.concurrency)]
        : ['--rate', String(shape.rate), '--lead-in-ms', String(shape.leadInMs)];
    const child = spawn(
      binary,
      [
        ...['--target', target, '--path', PaymentServiceService.createPayment.path],
        ...['--bodies', bodies, '--seconds', String(seconds), ...loadShape],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output: Buffer[] = [];
    const diagnostics: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => diagnostics.push(chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0)
      throw new Error(`load client exited with ${code}: ${Buffer.concat(diagnostics).toString()}`);
    const result = JSON.parse(Buffer.concat(output).toString()) as NativeLoadResult;
    // grpc-message arrives percent-encoded, as the wire has it.
    result.errorMessages = result.errorMessages.map((message) => {
      try {
        return decodeURIComponent(message);
      } catch {
        return message;
      }
    });
    if (result.bodiesRanOut)
      throw new Error(`the load client sent all ${result.submitted} requests it was given`);
    // Its answers are only counted there; one decoded here shows it read the right bytes.
    // (Empty when the first call failed: the error count says so.)
    const answer = Buffer.from(result.firstAnswerHex, 'hex');
    if (answer.length > 0) {
      const { payment } = paymentV1.CreatePaymentResponse.decode(answer.subarray(5));
      if (payment?.status !== paymentV1.PaymentStatus.PENDING || !payment.id)
        throw new Error(`unexpected first answer of the load client: ${JSON.stringify(payment)}`);
    }
    return result;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * What this host charges for waking up, measured in this process before anything else runs: the
 * CPU time of a fixed piece of JavaScript (~40 µs) run back to back, and run once after each 1-ms
 * sleep. On session 9's host the second cost 2–3× the first: every wake-up of a process costs
 * a fixed ~50–90 µs of CPU on top of its work. A payment at 500/s wakes ~10 processes, each doing a
 * little; in the closed loop the same work comes in bursts. That is why `latency.cpuMsPerCreate`
 * is about twice the saturated cost, and why this figure belongs next to the results when runs on
 * different hosts are compared.
 */
async function hostWakeupCost(): Promise<{
  workUnitUs: { backToBack: number; afterSleep: number };
  wakeupPenaltyUs: number;
}> {
  const unit = (): number => {
    let value = 0;
    for (let index = 0; index < 20_000; index += 1)
      value = ((value * 31 + index) ^ (value >>> 3)) | 0;
    return value;
  };
  const cpuMicros = () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  };
  let sink = 0;
  for (let index = 0; index < 2_000; index += 1) sink ^= unit();
  const backToBackRuns = 5_000;
  let started = cpuMicros();
  for (let index = 0; index < backToBackRuns; index += 1) sink ^= unit();
  const backToBack = (cpuMicros() - started) / backToBackRuns;
  const sleepRuns = 1_000;
  started = cpuMicros();
  for (let index = 0; index < sleepRuns; index += 1) {
    sink ^= unit();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const afterSleep = (cpuMicros() - started) / sleepRuns;
  if (sink === 0.5) process.stderr.write('unreachable\n');
  const round = (value: number) => Number(value.toFixed(1));
  return {
    workUnitUs: { backToBack: round(backToBack), afterSleep: round(afterSleep) },
    wakeupPenaltyUs: round(afterSleep - backToBack),
  };
}

/** CPU seconds (user + system) per process, read from /proc (Linux); empty elsewhere. */
function cpuByProcess(): Map<number, { name: string; parent: number; seconds: number }> {
  const result = new Map<number, { name: string; parent: number; seconds: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return result;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[1] = ppid, fields[11] = utime, fields[12] = stime (clock ticks, 100/s on Linux)
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      result.set(Number(pid), { name, parent: Number(fields[1]), seconds });
    } catch {
      // the process ended meanwhile
    }
  }
  return result;
}

/** CPU seconds spent between two snapshots, by role: ours by pid, the rest by process name. */
function cpuSpent(
  before: ReturnType<typeof cpuByProcess>,
  after: ReturnType<typeof cpuByProcess>,
  roles: Record<number, string>,
): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const [pid, now] of after) {
    const delta = now.seconds - (before.get(pid)?.seconds ?? 0);
    if (delta <= 0) continue;
    const role =
      roles[pid] ??
      (now.parent === process.pid && now.name === 'node' ? 'psp-simulator' : undefined) ??
      (now.name === 'postgres'
        ? 'postgres (all databases)'
        : now.name === 'redis-server'
          ? 'redis'
          : 'other processes');
    spent[role] = Number(((spent[role] ?? 0) + delta).toFixed(2));
  }
  return spent;
}

/** Profiles this process (the load generator) until the returned function is called. */
async function profileSelf(): Promise<() => Promise<void>> {
  if (CPU_PROF_DIR === undefined) return () => Promise.resolve();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(CPU_PROF_DIR, { recursive: true });
    writeFileSync(path.join(CPU_PROF_DIR, 'load-generator.cpuprofile'), JSON.stringify(profile));
    session.disconnect();
  };
}

/** CPU milliseconds per completed unit (a create; a settlement in the drain), by role and in total: the figure to compare runs by. */
function cpuMsPer(cpuSeconds: Record<string, number>, units: number): Record<string, number> {
  const perUnit: Record<string, number> = {};
  let total = 0;
  for (const [role, seconds] of Object.entries(cpuSeconds)) {
    if (role === 'other processes') continue;
    perUnit[role] = Number(((seconds * 1000) / units).toFixed(3));
    total += seconds;
  }
  perUnit['total (without other processes)'] = Number(((total * 1000) / units).toFixed(3));
  return perUnit;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  // Everything started is stopped in reverse order, also when a later start fails.
  const cleanups: Array<() => unknown> = [];
  try {
    await run(cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => process.stderr.write(`cleanup failed: ${String(error)}\n`));
    }
  }
}

async function run(cleanups: Array<() => unknown>): Promise<void> {
  const host = await hostWakeupCost();
  const database = await createTestDatabase({
    serviceDir: path.join(__dirname, '..'),
    name: 'payment_bench',
  });
  cleanups.push(() => database.drop());
  const redis = await createTestRedis({ name: 'payment_bench' });
  cleanups.push(() => redis.cleanup());
  // The simulator stands in for an external provider: its per-request log lines are not ours to
  // pay for (they cost it more CPU than the charge, and this process more to drain the pipe).
  const psp = await startPsp({ PSP_REQUEST_LOGGING: 'false' });
  cleanups.push(() => psp.close());
  const users = await startFakeUserService();
  cleanups.push(() => users.close());
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    DB_POOL_MAX: POOL,
    REDIS_CACHE_URL: redis.url,
    REDIS_QUEUE_URL: redis.url,
    REDIS_EVENTS_URL: redis.url,
    USER_SERVICE_URL: users.target,
    PSP_URL: psp.url,
    PSP_API_KEY,
    PSP_WEBHOOK_SECRET,
    PAYMENT_GRPC_HOST: '127.0.0.1',
    PAYMENT_GRPC_PORT: '0',
    WORKER_CONCURRENCY: '20',
    SETTLEMENT_CONCURRENCY,
    SETTLEMENT_BATCH_MAX_SIZE: SETTLEMENT_BATCH,
    CREATE_PAYMENT_BATCH_MAX_SIZE: CREATE_BATCH,
    ...(CREATE_LINGER_MS === undefined ? {} : { CREATE_PAYMENT_BATCH_LINGER_MS: CREATE_LINGER_MS }),
    ...(RELAY_INTERVAL_MS === undefined ? {} : { OUTBOX_RELAY_INTERVAL_MS: RELAY_INTERVAL_MS }),
    LOG_LEVEL: 'warn',
    BENCH_QUEUE_PREFIX: redis.queuePrefix,
    BENCH_CACHE_PREFIX: `${redis.prefix}payment`,
  };
  const server = await startChild('server', env);
  cleanups.push(() => stopProcess(server.child));
  const worker = WITH_WORKER ? await startChild('worker', env) : undefined;
  if (worker) cleanups.push(() => stopProcess(worker.child));
  if (worker?.child.pid !== undefined && WORKER_NICE !== 0)
    setPriority(worker.child.pid, WORKER_NICE);
  const sql = new Pool({ connectionString: database.url, max: 1 });
  cleanups.push(() => sql.end());
  const people = Array.from({ length: 200 }, () => randomUUID());
  for (const id of people) users.users.add(id);
  await seedHistory(sql, people);
  const target = `127.0.0.1:${server.port}`;
  // The native client runs the measured phases; the warm-up and the first check below use the
  // node:http2 client either way (unmeasured).
  const nativeClient = REQUESTED_CLIENT === 'native' ? buildNativeLoadClient() : undefined;
  const loadClient =
    REQUESTED_CLIENT === 'native' && nativeClient === undefined ? 'http2' : REQUESTED_CLIENT;
  const client =
    loadClient === 'grpc-js'
      ? createGrpcJsLoadClient(target, people)
      : createHttp2LoadClient(target, people);
  const requestBody = requestTemplates(people);
  cleanups.push(() => client.close());
  let sequence = 0;
  const createOne = async (): Promise<number> => {
    const started = performance.now();
    await client.createPayment(sequence++);
    return performance.now() - started;
  };
  // The load client reads gRPC's framing only; one decoded answer shows it reads the right bytes.
  const { payment: first } = paymentV1.CreatePaymentResponse.decode(
    await client.createPayment(sequence++),
  );
  if (first?.status !== paymentV1.PaymentStatus.PENDING || !first.id)
    throw new Error(`unexpected first response: ${JSON.stringify(first)}`);

  {
    // Warm-up (JIT, pools, channels, payee cache); failures here are only counted.
    let warmupErrors = 0;
    // The distinct error messages (at most a few): what went wrong, not only how often.
    const firstErrors = new Set<string>();
    const errorText = (error: unknown) =>
      firstErrors.size < 5 ? (error instanceof Error ? error.message : String(error)) : '…';
    for (let round = 0; round < 20; round += 1) {
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => createOne()));
      for (const result of results) {
        if (result.status === 'fulfilled') continue;
        warmupErrors += 1;
        firstErrors.add(errorText(result.reason));
      }
    }
    process.stderr.write(`warm-up done (${warmupErrors} errors)\n`);

    const loadBefore = load();
    const roles: Record<number, string> = {
      [process.pid]: 'load generator (bench)',
      ...(server.child.pid === undefined ? {} : { [server.child.pid]: 'payment server' }),
      ...(worker?.child.pid === undefined ? {} : { [worker.child.pid]: 'payment worker' }),
    };
    const countSettled = async (): Promise<number> => {
      const { rows } = await sql.query<{ count: string }>(
        "SELECT count(*)::text AS count FROM payments WHERE status IN ('settled', 'failed')",
      );
      return Number(rows[0]?.count ?? 0);
    };
    // What PostgreSQL had to write and commit: deterministic where CPU figures are noisy. WAL is
    // the cluster's (nothing else writes during a run); commits are this database's, as the
    // statistics system has them (backends report at most once a second: close, not exact).
    interface DatabaseWork {
      readonly walLsn: string;
      readonly commits: number;
    }
    const databaseWork = async (): Promise<DatabaseWork> => {
      const { rows } = await sql.query<{ walLsn: string; commits: string }>(
        `SELECT pg_current_wal_lsn()::text AS "walLsn", xact_commit::text AS commits
         FROM pg_stat_database WHERE datname = current_database()`,
      );
      return { walLsn: rows[0].walLsn, commits: Number(rows[0].commits) };
    };
    /** What was written and committed since `before`, per unit, and where the WAL is now. */
    const databaseWorkPer = async (
      before: DatabaseWork,
      units: number,
    ): Promise<{ perUnit: { walBytes: number; commits: number }; walLsn: string }> => {
      const { rows } = await sql.query<{ walLsn: string; walBytes: string; commits: string }>(
        `SELECT pg_current_wal_lsn()::text AS "walLsn",
                pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS "walBytes",
                xact_commit::text AS commits
         FROM pg_stat_database WHERE datname = current_database()`,
        [before.walLsn],
      );
      return {
        perUnit: {
          walBytes: Math.round(Number(rows[0].walBytes) / units),
          commits: Number(((Number(rows[0].commits) - before.commits) / units).toFixed(3)),
        },
        walLsn: rows[0].walLsn,
      };
    };
    const settledBefore = await countSettled();
    const databaseBefore = await databaseWork();
    const stopProfile = await profileSelf();
    const cpuBefore = cpuByProcess();
    const throughputStarted = performance.now();
    let completed = 0;
    let errors = 0;
    /** The native client's CPU seconds per phase: it has exited when /proc is read. */
    const nativeCpu = (result: NativeLoadResult | undefined): Record<string, number> =>
      result === undefined ? {} : { 'load generator (native client)': result.cpuSeconds };
    let nativeThroughput: NativeLoadResult | undefined;
    if (nativeClient !== undefined) {
      // More request bodies than this host could ever create (~2,300/s without settlement).
      const bodies = CONCURRENCY + Math.ceil(SECONDS * NATIVE_MAX_CREATES_PER_SECOND);
      nativeThroughput = await runNativeLoad(
        nativeClient,
        target,
        requestFrames(requestBody, sequence, bodies),
        { concurrency: CONCURRENCY },
        SECONDS,
      );
      sequence += bodies;
      completed = nativeThroughput.completed;
      errors = nativeThroughput.errors;
      for (const message of nativeThroughput.errorMessages) firstErrors.add(message);
    } else {
      const throughputEnd = Date.now() + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (Date.now() < throughputEnd) {
            try {
              await createOne();
              completed += 1;
            } catch (error) {
              errors += 1;
              firstErrors.add(errorText(error));
            }
          }
        }),
      );
    }
    const throughput = completed / SECONDS;
    const loadAfterThroughput = load();
    const cpuThroughput = {
      ...cpuSpent(cpuBefore, cpuByProcess(), roles),
      ...nativeCpu(nativeThroughput),
    };
    const throughputWallSeconds = (performance.now() - throughputStarted) / 1000;
    await stopProfile();
    const settledDuringThroughput = (await countSettled()) - settledBefore;
    const databasePerCreate = (await databaseWorkPer(databaseBefore, completed)).perUnit;

    // Phase 1 leaves the worker a backlog (creates outrun settlement in a closed loop). Measured
    // on top of it, phase 2's tail would be the backlog's drain competing for the CPU, not the
    // latency at 500/s: so the backlog settles first, and its drain rate is reported as the
    // worker's settlement throughput.
    const countUnsettled = async (): Promise<number> => {
      const { rows } = await sql.query<{ count: string }>(
        "SELECT count(*)::text AS count FROM payments WHERE status IN ('pending', 'processing')",
      );
      return Number(rows[0]?.count ?? 0);
    };
    const backlog = await countUnsettled();
    const cpuBeforeDrain = cpuByProcess();
    const databaseBeforeDrain = await databaseWork();
    const drainStarted = performance.now();
    let unsettled = backlog;
    while (WITH_WORKER && unsettled > 0 && performance.now() - drainStarted < DRAIN_LIMIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      unsettled = await countUnsettled();
    }
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    // What one settlement costs, with nothing else running: the worker's CPU, its share of
    // PostgreSQL, Redis and the simulator (the server and the load generator are idle here).
    const cpuDrain = cpuSpent(cpuBeforeDrain, cpuByProcess(), roles);
    const drainDatabase = await databaseWorkPer(
      databaseBeforeDrain,
      Math.max(1, backlog - unsettled),
    );
    const databasePerSettlement = drainDatabase.perUnit;
    // For pg_waldump --stats over the drain: what the WAL of a settlement is made of.
    process.stderr.write(
      `drain WAL from ${databaseBeforeDrain.walLsn} to ${drainDatabase.walLsn}\n`,
    );

    // Phase 1 dirtied in 15 s what phase 2 dirties in ~45, and Linux writes a dirty page back
    // ~30 s after it was dirtied (vm.dirty_expire_centisecs = 3000): so ~5–10 s into phase 2 it
    // wrote phase 1's 70–120 MB of data pages in a second (vmstat), every commit's WAL fsync
    // queued behind that, and every create in flight stalled for 150–270 ms: a third to half of
    // the creates over 50 ms in a run, caused by the bench's own phase 1. A CHECKPOINT writes
    // and syncs those pages now. Phase 2's own writeback (it dirties data pages steadily) falls
    // inside it only when it runs longer than ~30 s: BENCH_LATENCY_SECONDS=45 includes it.
    if (CHECKPOINT_BEFORE_LATENCY && RATE > 0) await sql.query('CHECKPOINT');

    const latencies: number[] = [];
    // From the time the schedule said a create was due to its answer: what a caller arriving on
    // schedule waited, including the load generator's own lateness in sending (a late sender
    // would otherwise hide part of a slow period: coordinated omission).
    const latenciesFromSchedule: number[] = [];
    const sendLags: number[] = [];
    const trace: string[] | undefined = LATENCY_TRACE ? [] : undefined;
    let latencyErrors = 0;
    // In flight, counted rather than kept: holding every create's promise until the end kept
    // 7,500 promise chains alive, which the load generator's GC then copied and promoted; its
    // pauses (scavenges of 15–25 ms, a mark-compact of 56 ms with --trace-gc) are time every
    // answer arriving meanwhile is charged with, as if the service had been slow.
    let inFlight = 0;
    let allAnswered: (() => void) | undefined;
    const cpuBeforeLatency = cpuByProcess();
    const latencyStartedAt = Date.now();
    const start = performance.now();
    // The first LEAD_IN_MS of the schedule run but are not measured: the server and the worker
    // go from the drain (no creates) to the rate, as a steady service would not.
    const total = RATE > 0 ? Math.round((RATE * (LATENCY_SECONDS * 1000 + LEAD_IN_MS)) / 1000) : 0;
    let nativeLatency: NativeLoadResult | undefined;
    if (nativeClient !== undefined && total > 0) {
      nativeLatency = await runNativeLoad(
        nativeClient,
        target,
        requestFrames(requestBody, sequence, total),
        { rate: RATE, leadInMs: LEAD_IN_MS },
        LATENCY_SECONDS,
      );
      sequence += total;
      latencyErrors = nativeLatency.errors;
      for (const message of nativeLatency.errorMessages) firstErrors.add(message);
      for (const [sentAtMs, ms, lagMs] of nativeLatency.calls ?? []) {
        sendLags.push(lagMs);
        if (ms < 0) continue;
        latencies.push(ms);
        latenciesFromSchedule.push(lagMs + ms);
        trace?.push(`${sentAtMs.toFixed(1)}\t${ms.toFixed(1)}`);
      }
    }
    // Without the native client, this process runs the schedule itself.
    const scheduledHere = nativeClient === undefined ? total : 0;
    for (let index = 0; index < scheduledHere; index += 1) {
      const due = start + (index * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAtMs = performance.now() - start - LEAD_IN_MS;
      const measured = sentAtMs >= 0;
      const lagMs = Math.max(0, performance.now() - due);
      if (measured) sendLags.push(lagMs);
      inFlight += 1;
      void createOne()
        .then(
          (ms) => {
            if (!measured) return;
            latencies.push(ms);
            latenciesFromSchedule.push(lagMs + ms);
            trace?.push(`${sentAtMs.toFixed(1)}\t${ms.toFixed(1)}`);
          },
          (error: unknown) => {
            latencyErrors += 1;
            firstErrors.add(errorText(error));
          },
        )
        .finally(() => {
          inFlight -= 1;
          if (inFlight === 0) allAnswered?.();
        });
    }
    if (inFlight > 0) await new Promise<void>((resolve) => (allAnswered = resolve));
    // The steady state's cost: every create of the schedule and whatever the worker settled
    // meanwhile (see paymentsByStatusAtEnd for what it left).
    const cpuLatency = {
      ...cpuSpent(cpuBeforeLatency, cpuByProcess(), roles),
      ...nativeCpu(nativeLatency),
    };
    if (trace && LATENCY_TRACE)
      writeFileSync(LATENCY_TRACE, `sent_ms\tlatency_ms\n${trace.join('\n')}\n`);
    const loadAfterLatency = load();
    // Autovacuum's rounds, in seconds from the start of phase 2 (negative: before it), newest per
    // table: a vacuum of a large table inside the measured window is CPU the creates wait for.
    const { rows: autovacuum } = await sql.query<{
      table: string;
      vacuum: string | null;
      analyze: string | null;
    }>(
      `SELECT relname AS table,
              round(extract(epoch FROM last_autovacuum - $1::timestamptz)::numeric, 1)::text AS vacuum,
              round(extract(epoch FROM last_autoanalyze - $1::timestamptz)::numeric, 1)::text AS analyze
       FROM pg_stat_user_tables
       WHERE last_autovacuum IS NOT NULL OR last_autoanalyze IS NOT NULL ORDER BY relname`,
      [new Date(latencyStartedAt).toISOString()],
    );
    latencies.sort((a, b) => a - b);
    latenciesFromSchedule.sort((a, b) => a - b);
    sendLags.sort((a, b) => a - b);
    // Did the worker keep up? (Settlement is asynchronous: creates/s does not wait for it.)
    const { rows: statuses } = await sql.query<{ status: string; count: string }>(
      'SELECT status::text, count(*)::text AS count FROM payments GROUP BY status ORDER BY status',
    );

    const result = {
      host,
      loadClient,
      loadAverage1m5m15m: {
        before: loadBefore,
        afterThroughput: loadAfterThroughput,
        afterLatency: loadAfterLatency,
      },
      dbPoolMax: Number(POOL),
      errorMessages: [...firstErrors],
      workerRunning: WITH_WORKER,
      settlementBatchMaxSize: Number(SETTLEMENT_BATCH),
      settlementConcurrency: Number(SETTLEMENT_CONCURRENCY),
      seededPayments: SEED_PAYMENTS,
      paymentsByStatusAtEnd: Object.fromEntries(
        statuses.map((row) => [row.status, Number(row.count)]),
      ),
      throughput: {
        seconds: SECONDS,
        concurrency: CONCURRENCY,
        completed,
        errors,
        createsPerSecond: Math.round(throughput),
        wallSeconds: Number(throughputWallSeconds.toFixed(1)),
        // Payments the worker brought to settled/failed during this phase: whether the CPU below
        // paid for settlement too, or settlement was left for later.
        settledDuringPhase: settledDuringThroughput,
        // CPU seconds per role during this phase (2 cores: at most 2 × wallSeconds in all).
        cpuSeconds: cpuThroughput,
        // The work each create costs, wherever it runs (settlement included only as far as the
        // worker kept up): comparable across runs even when neighbours take CPU.
        cpuMsPerCreate: cpuMsPer(cpuThroughput, completed),
        // WAL bytes written and transactions committed per create, settlement included as above.
        databasePerCreate,
      },
      // The settlement backlog phase 1 left, drained before phase 2 (worker alone, no creates).
      drain: {
        backlog,
        leftUnsettled: unsettled,
        seconds: Number(drainSeconds.toFixed(1)),
        settlementsPerSecond:
          drainSeconds > 0 ? Math.round((backlog - unsettled) / drainSeconds) : null,
        cpuSeconds: cpuDrain,
        cpuMsPerSettlement: cpuMsPer(cpuDrain, backlog - unsettled),
        databasePerSettlement,
      },
      latency: {
        ratePerSecond: RATE,
        seconds: LATENCY_SECONDS,
        checkpointBefore: CHECKPOINT_BEFORE_LATENCY,
        // The load generator's clock (ms since it started, as --trace-gc prints) when the measured
        // part began: lines up the trace (BENCH_LATENCY_TRACE) with its own GC pauses.
        measuredFromProcessMs: Math.round(start + LEAD_IN_MS),
        requests: latencies.length,
        errors: latencyErrors,
        p50Ms: Number(percentile(latencies, 50).toFixed(1)),
        p99Ms: Number(percentile(latencies, 99).toFixed(1)),
        maxMs: Number((latencies.at(-1) ?? NaN).toFixed(1)),
        p99FromScheduleMs: Number(percentile(latenciesFromSchedule, 99).toFixed(1)),
        sendLagP99Ms: Number(percentile(sendLags, 99).toFixed(1)),
        cpuMsPerCreate: cpuMsPer(cpuLatency, Math.max(1, total)),
        autovacuumSecondsFromStart: Object.fromEntries(
          autovacuum.map((row) => [
            row.table,
            {
              vacuum: row.vacuum === null ? null : Number(row.vacuum),
              analyze: row.analyze === null ? null : Number(row.analyze),
            },
          ]),
        ),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
