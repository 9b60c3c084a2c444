// Strata's end-to-end benchmark (issue 9). See bench/README.md and docs/benchmarks.md.
//
//   npm run bench                      full run: results JSON + docs/benchmarks.md + docs/benchmarks.svg
//   npm run bench -- --quick           ≤ 60 s of scenarios on small data; JSON to --out (no docs)
//   npm run bench -- --url http://127.0.0.1:8080   use a running `npm start` cluster instead
//
// Options: --quick, --url <public URL>, --out <dir> (default bench/results in a full run, a temp
// dir in --quick), --docs / --no-docs (default: docs in a full run only), --skip-build,
// --cpu-prof <dir> [--cpu-prof-scenarios "warm read,cold read"] [--cpu-prof-interval <µs>]: V8 CPU
// profiles of every Node process of the cluster and of the bench's servers per chosen scenario,
// summarised in <dir>/summary.md (results JSON to <dir> too, no docs, unless told otherwise),
// --scenarios "warm read,warm read at half rate": run only those (a partial run writes no docs
// unless --docs says so; the half-rate run needs the warm read's throughput).
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { accessTokenMinter } from './access-tokens';
import {
  type ManagedServer,
  type ResponseCopy,
  startColdContentService,
  startHttpBaseline,
  startRawPgContentBaseline,
} from './bench-servers';
import { loadGeneratorCpu, startChild } from './child-process';
import { type BenchCluster, attachBenchCluster, startBenchCluster } from './cluster';
import { summariseCpuProfiles } from './cpu-profile-summary';
import { type CpuProfiler, PROFILABLE_SCENARIOS, enableCpuProfiling } from './cpu-profiles';
import { type HttpLoadOptions, type HttpLoadResult } from './http-load';
import { allProcesses, machineDescription, memoryOf, round, withDescendants } from './proc-stats';
import { type BenchResults, type ScenarioResult, evaluateTargets, writeReport } from './report';
import { seedDatabases } from './seed';
import { runJobsBench, runPaymentBench } from './service-benches';
import { type FanoutResult } from './ws-fanout';

const ROOT = resolve(__dirname, '../..');

interface Profile {
  readonly seed: Parameters<typeof seedDatabases>[1];
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly grpcConcurrency: number;
  readonly fanout: { users: number; socketsPerUser: number; seconds: number; inFlight: number };
  readonly payment: { seconds: number; rate: number; concurrency: number };
  readonly jobs: { noop: number; email: number };
}

const FULL: Profile = {
  seed: {
    users: 10_000,
    articles: 50_000,
    tagsPerArticle: 3,
    commentsPerArticle: 2,
    postings: 100_000,
  },
  warmupSeconds: 3,
  seconds: 10,
  connections: 100,
  grpcConcurrency: 32,
  fanout: { users: 100, socketsPerUser: 10, seconds: 10, inFlight: 200 },
  payment: { seconds: 15, rate: 500, concurrency: 64 },
  jobs: { noop: 20_000, email: 3_000 },
};

// Quick mode keeps every scenario but shrinks it to the least that still proves it works (issue 9:
// ≤ 60 s of scenarios): 1-second runs, small seeds, and the payment and jobs benches (each starts
// processes and, for payment, a migrated database of its own) run beside the read scenarios
// instead of after them. Its figures are not measurements; only "ran, zero errors" is asserted.
const QUICK: Profile = {
  seed: { users: 120, articles: 600, tagsPerArticle: 2, commentsPerArticle: 1, postings: 200 },
  warmupSeconds: 0,
  seconds: 1,
  connections: 10,
  grpcConcurrency: 8,
  fanout: { users: 10, socketsPerUser: 4, seconds: 1, inFlight: 10 },
  payment: { seconds: 1, rate: 20, concurrency: 4 },
  jobs: { noop: 100, email: 10 },
};

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** A comma-separated option (`--scenarios "warm read,cold read"`) as its trimmed, non-empty names. */
function listArgument(name: string): string[] | undefined {
  return argument(name)
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const say = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);
const loadAverage = (): number[] => loadavg().map((value) => round(value, 2));

/** Who spent the CPU: pid → display name, for the processes on the server side. */
function serverProcessNames(cluster: BenchCluster, servers: ManagedServer[]): Map<number, string> {
  const processes = allProcesses();
  const names = new Map<number, string>();
  const roots = [
    ...[...cluster.processes()].map(([name, pid]) => ({ name, pid })),
    ...servers.map((server) => ({ name: server.name, pid: server.pid })),
  ];
  for (const root of roots) {
    for (const pid of withDescendants([root.pid], processes)) names.set(pid, root.name);
  }
  return names;
}

interface CpuSnapshot {
  readonly cpu: Map<number, { command: string; seconds: number }>;
}

function cpuSnapshot(): CpuSnapshot {
  return {
    cpu: new Map(
      [...allProcesses()].map(([pid, sample]) => [
        pid,
        { command: sample.command, seconds: sample.cpuSeconds },
      ]),
    ),
  };
}

/** CPU seconds per 1,000 operations between two snapshots, grouped the way the report shows. */
function cpuPer1k(
  before: CpuSnapshot,
  after: CpuSnapshot,
  operations: number,
  names: Map<number, string>,
  loadGeneratorSeconds: number,
): ScenarioResult['cpuSecondsPer1k'] {
  const byProcess: Record<string, number> = {};
  let strata = 0;
  let postgres = 0;
  let redis = 0;
  for (const [pid, now] of after.cpu) {
    const spent = now.seconds - (before.cpu.get(pid)?.seconds ?? 0);
    if (spent <= 0) continue;
    if (now.command === 'postgres') postgres += spent;
    else if (now.command === 'redis-server') redis += spent;
    else {
      const name = names.get(pid);
      if (name === undefined) continue;
      strata += spent;
      byProcess[name] = (byProcess[name] ?? 0) + spent;
    }
  }
  const per1k = (seconds: number): number => round((seconds * 1_000) / Math.max(1, operations), 3);
  return {
    strata: per1k(strata),
    postgres: per1k(postgres),
    redis: per1k(redis),
    loadGenerator: per1k(loadGeneratorSeconds),
    byProcess: Object.fromEntries(
      Object.entries(byProcess)
        .map(([name, seconds]) => [name, per1k(seconds)] as const)
        .filter(([, value]) => value > 0)
        .sort((a, b) => b[1] - a[1]),
    ),
  };
}

async function copyResponse(url: string, headers: Record<string, string>): Promise<ResponseCopy> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'cache-control', 'etag', 'vary']) {
    const value = response.headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return { body: await response.text(), headers: kept };
}

/** `--cpu-prof <dir>`: must run before the cluster starts (its processes inherit the preload). */
function cpuProfilerFromArguments(): CpuProfiler | undefined {
  if (!process.argv.includes('--cpu-prof')) return undefined;
  const dir = argument('--cpu-prof');
  if (dir === undefined || dir.startsWith('--')) throw new Error('--cpu-prof needs a directory');
  const scenarios = listArgument('--cpu-prof-scenarios');
  const interval = Number(argument('--cpu-prof-interval') ?? 200);
  if (!Number.isInteger(interval) || interval < 50) {
    throw new Error('--cpu-prof-interval: a sampling interval in µs, at least 50');
  }
  return enableCpuProfiling({
    // `npm run bench` runs this in bench/: a relative directory means one where npm was run.
    dir: resolve(
      (process.env.npm_lifecycle_event === 'bench' && process.env.INIT_CWD) || process.cwd(),
      dir,
    ),
    scenarios: scenarios ?? PROFILABLE_SCENARIOS,
    intervalMicroseconds: interval,
    say,
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const profile = quick ? QUICK : FULL;
  const cpuProfiler = cpuProfilerFromArguments();
  const only = listArgument('--scenarios');
  const known: readonly string[] = [
    ...PROFILABLE_SCENARIOS,
    'payment create',
    'no-op jobs',
    'email jobs',
  ];
  const unknown = only?.filter((name) => !known.includes(name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`--scenarios: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
  const selected = (name: string): boolean => only === undefined || only.includes(name);
  // One run of the jobs bench gives both job scenarios.
  const jobsSelected = selected('no-op jobs') || selected('email jobs');
  // Sampling costs CPU in every profiled process, and a partial run lacks rows: neither may become
  // the documented figures, nor overwrite a reference run's JSON in bench/results.
  const partial = cpuProfiler !== undefined || only !== undefined;
  const writeDocs =
    process.argv.includes('--docs') || (!quick && !partial && !process.argv.includes('--no-docs'));
  const outDir = resolve(
    argument('--out') ??
      cpuProfiler?.dir ??
      (quick || only !== undefined ? tmpdir() : join(ROOT, 'bench/results')),
  );
  const url = argument('--url');
  const adminUrl =
    process.env.TEST_DATABASE_URL ??
    process.env.STRATA_DATABASE_ADMIN_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  const build =
    !process.argv.includes('--skip-build') && process.env.NX_TASK_TARGET_PROJECT === undefined;
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const workDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const servers: ManagedServer[] = [];
  let cluster: BenchCluster | undefined;
  const stopAll = async (): Promise<void> => {
    for (const server of servers.splice(0).reverse()) await server.stop().catch(() => undefined);
    await cluster?.stop();
    cluster = undefined;
    rmSync(workDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopAll().finally(() => process.exit(130)));
  }

  const scenarios: ScenarioResult[] = [];
  const failures: Record<string, string> = {};
  const paymentScenario = async (redisUrl: string): Promise<void> => {
    say('scenario payment create (services/payment/scripts/bench.ts)');
    try {
      const paymentStarted = performance.now();
      const payment = await runPaymentBench({
        ...profile.payment,
        databaseUrl: adminUrl,
        redisUrl,
      });
      scenarios.push({
        name: 'payment create',
        unit: 'creates/s',
        throughput: payment.createsPerSecond,
        latencyMs: {
          p50: payment.latency.p50Ms,
          p90: NaN,
          p99: payment.latency.p99Ms,
          max: payment.latency.maxMs,
        },
        latencyNote: `p50/p99 at ${payment.latency.ratePerSecond}/s open loop`,
        errors: payment.errors,
        operations: payment.completed,
        cpuSecondsPer1k: {
          strata: payment.strataCpuSecondsPer1k,
          postgres: payment.postgresCpuSecondsPer1k,
          redis: payment.redisCpuSecondsPer1k,
          loadGenerator: NaN,
          byProcess: {},
        },
        loadAverage1m: loadAverage()[0] ?? NaN,
        wallSeconds: round((performance.now() - paymentStarted) / 1_000),
        peakRssMiB: payment.peakRssMiB,
        detail: payment.raw,
      });
      say(
        `  ${payment.createsPerSecond} creates/s, p99 ${payment.latency.p99Ms} ms at ${payment.latency.ratePerSecond}/s, ${payment.errors} errors`,
      );
    } catch (error) {
      failures['payment create'] = error instanceof Error ? error.message : String(error);
      say(`  failed: ${failures['payment create']}`);
    }
  };

  // In quick mode the payment bench (its own database, Redis keys under a random prefix in the
  // test Redis, processes of its own; none of the cluster) runs while the cluster starts: it is
  // the longest scenario and needs nothing from the cluster.
  const paymentEarly =
    quick && selected('payment create')
      ? paymentScenario(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
      : undefined;
  try {
    say(url ? `using the cluster at ${url}` : 'starting the one-machine cluster (start.mjs)');
    const clusterStarted = performance.now();
    cluster = url ? attachBenchCluster(url) : await startBenchCluster(adminUrl, build);
    const clusterSeconds = round((performance.now() - clusterStarted) / 1_000);
    const active = cluster;
    const clusterReady = performance.now();
    const jobsScenarios = async (): Promise<void> => {
      say('scenario jobs (services/notification/scripts/bench-jobs.ts)');
      try {
        const jobsStarted = performance.now();
        const jobs = await runJobsBench({
          noopJobs: profile.jobs.noop,
          emailJobs: profile.jobs.email,
          queueRedisUrl: `redis://127.0.0.1:${active.ports.queueRedis}`,
        });
        const common = {
          latencyMs: { p50: NaN, p90: NaN, p99: NaN, max: NaN },
          loadAverage1m: loadAverage()[0] ?? NaN,
        };
        scenarios.push({
          name: 'no-op jobs',
          unit: 'jobs/s',
          throughput: jobs.noopJobsPerSecond,
          errors: jobs.errors,
          operations: profile.jobs.noop * Object.keys(jobs.noopJobsPerSecondByConcurrency).length,
          cpuSecondsPer1k: {
            strata: jobs.noopCpuSecondsPer1k,
            postgres: NaN,
            redis: NaN,
            loadGenerator: NaN,
            byProcess: {},
          },
          peakRssMiB: jobs.peakRssMiB,
          // Both job scenarios come from one run of bench-jobs.ts: its wall time is listed here.
          wallSeconds: round((performance.now() - jobsStarted) / 1_000),
          detail: jobs.noopJobsPerSecondByConcurrency,
          ...common,
        });
        scenarios.push({
          name: 'email jobs',
          unit: 'jobs/s',
          throughput: jobs.emailJobsPerSecond,
          errors: jobs.errors,
          operations: profile.jobs.email * Object.keys(jobs.emailJobsPerSecondByRun).length,
          cpuSecondsPer1k: {
            strata: jobs.emailCpuSecondsPer1k,
            postgres: NaN,
            redis: NaN,
            loadGenerator: NaN,
            byProcess: {},
          },
          detail: jobs.emailJobsPerSecondByRun,
          ...common,
        });
        say(
          `  no-op ${jobs.noopJobsPerSecond} jobs/s, email ${jobs.emailJobsPerSecond} jobs/s, ${jobs.errors} errors`,
        );
      } catch (error) {
        failures.jobs = error instanceof Error ? error.message : String(error);
        say(`  failed: ${failures.jobs}`);
      }
    };
    // The service benches start processes (and, for payment, a migrated database) of their own
    // and use neither the gateways nor the content service: in quick mode they run beside the
    // read scenarios to keep the whole run short; a full run keeps them apart so no figure is
    // measured with another scenario's load on the machine.
    const background: Array<Promise<void>> = [];
    if (paymentEarly) background.push(paymentEarly);
    if (quick && jobsSelected) background.push(jobsScenarios());

    say(`cluster ready at ${active.publicUrl} (${clusterSeconds} s); seeding`);
    const seeded = await seedDatabases(
      {
        user: active.databaseUrl('user'),
        content: active.databaseUrl('content'),
        payment: active.databaseUrl('payment'),
      },
      profile.seed,
    );
    say(`seeded in ${seeded.result.seconds} s: ${JSON.stringify(seeded.result)}`);
    const scenariosStarted = performance.now();
    const mint = accessTokenMinter(active.runDir);
    const reader = seeded.userIds[0];
    const readerToken = mint(reader);
    const listPath = `/v1/articles?tag=${seeded.listTag}&limit=20`;
    const warmIds = seeded.articleIds.slice(0, quick ? 50 : 200);
    const warmPaths = warmIds.map((id) => `/v1/articles/${id}`);
    // Ids travel as a JSON argument (argv is capped at 128 KiB per string): 2,000 are enough, the
    // caches are off and PostgreSQL keeps all of them in its buffer cache either way.
    const coldIds = seeded.articleIds.slice(200, 200 + (quick ? 500 : 2_000));
    const auth = { authorization: `Bearer ${readerToken}` };

    // The three bench servers are independent processes: start them together. Every start is
    // waited for, even after one failed, so each server that did start is stopped at the end (a
    // server left running would keep this process alive after the error).
    const starts = await Promise.allSettled([
      Promise.all([
        copyResponse(`${active.publicUrl}${listPath}`, {}),
        copyResponse(`${active.publicUrl}${warmPaths[0]}`, auth),
      ]).then(([list, article]) => startHttpBaseline(workDir, { list, article })),
      startColdContentService(active),
      startRawPgContentBaseline(active),
    ]);
    const [baselineStart, coldStart, rawPgStart] = starts;
    if (baselineStart.status === 'fulfilled') servers.push(...baselineStart.value.servers);
    if (coldStart.status === 'fulfilled') servers.push(coldStart.value.server);
    if (rawPgStart.status === 'fulfilled') servers.push(rawPgStart.value.server);
    const baseline = settledValue(baselineStart);
    const cold = settledValue(coldStart);
    const rawPg = settledValue(rawPgStart);

    // Idle memory: everything started, nothing loaded yet.
    await new Promise((resolvePromise) => setTimeout(resolvePromise, quick ? 500 : 2_000));
    const idleRssMiB: Record<string, number> = {};
    for (const [name, pid] of [
      ...active.processes(),
      ...servers.map((server) => [server.name, server.pid] as const),
    ]) {
      const memory = memoryOf(pid);
      if (memory) idleRssMiB[name] = memory.rssMiB;
    }

    const names = (): Map<number, string> => serverProcessNames(active, servers);

    const measured = async (
      name: string,
      run: () => Promise<{
        result: HttpLoadResult | FanoutResult;
        operations: number;
        /** CPU of the load generator process over its whole life (it starts and ends with the run). */
        loadGeneratorSeconds: number;
      }>,
      extra: Partial<ScenarioResult> = {},
      /** false for warm-ups: run and check for failures, but keep out of the results. */
      keep = true,
    ): Promise<ScenarioResult | undefined> => {
      if (keep && !selected(name)) return undefined;
      say(`scenario ${name}`);
      try {
        // Profilers start before the CPU snapshot and stop after it, so starting and writing a
        // profile is not counted in the scenario's CPU figures (sampling itself is).
        const capture = cpuProfiler?.includes(name)
          ? await cpuProfiler.start(name, names())
          : undefined;
        const measureWindow = async () => {
          const before = cpuSnapshot();
          const loadAt = loadAverage();
          const started = performance.now();
          const outcome = await run();
          const wallSeconds = round((performance.now() - started) / 1_000);
          return { before, after: cpuSnapshot(), loadAt, wallSeconds, outcome };
        };
        const { before, after, loadAt, wallSeconds, outcome } = await measureWindow().finally(() =>
          capture?.stop(),
        );
        const { result, operations, loadGeneratorSeconds } = outcome;
        const scenario: ScenarioResult = {
          name,
          unit: 'requests/s',
          throughput:
            'requestsPerSecond' in result ? result.requestsPerSecond : result.deliveriesPerSecond,
          latencyMs: result.latencyMs,
          errors: result.errors,
          operations,
          cpuSecondsPer1k: cpuPer1k(before, after, operations, names(), loadGeneratorSeconds),
          loadAverage1m: loadAt[0] ?? NaN,
          wallSeconds,
          detail: result,
          // An open-loop run counts latency from each request's schedule: say how late the
          // generator itself was, so its own lag is not read as the servers'.
          ...('sendLagMs' in result && result.sendLagMs
            ? {
                latencyNote: `open loop, evenly paced; generator send lag p50/p99 ${result.sendLagMs.p50}/${result.sendLagMs.p99} ms`,
              }
            : {}),
          ...extra,
        };
        if (!keep) return scenario;
        scenarios.push(scenario);
        say(
          `  ${scenario.throughput} ${scenario.unit}, p99 ${scenario.latencyMs.p99} ms, ${scenario.errors} errors`,
        );
        return scenario;
      } catch (error) {
        failures[name] = error instanceof Error ? error.message : String(error);
        say(`  failed: ${failures[name]}`);
        return undefined;
      }
    };

    const http = async (options: HttpLoadOptions) => {
      const child = startChild('http-load.ts', options, { pinToLoadCpu: true });
      const message = await child.next('result', (options.durationSeconds + 60) * 1_000);
      const loadGeneratorSeconds = allProcesses().get(child.pid)?.cpuSeconds ?? NaN;
      await child.stop();
      const result = message.result as HttpLoadResult;
      return { result, operations: result.requests, loadGeneratorSeconds };
    };
    const grpc = async (target: string, seconds: number, everyIdOnce = false) => {
      const child = startChild(
        'grpc-load.ts',
        {
          target,
          ids: coldIds,
          concurrency: profile.grpcConcurrency,
          durationSeconds: seconds,
          everyIdOnce,
        },
        { pinToLoadCpu: true },
      );
      const message = await child.next('result', (seconds + 120) * 1_000);
      const loadGeneratorSeconds = allProcesses().get(child.pid)?.cpuSeconds ?? NaN;
      await child.stop();
      const result = message.result as HttpLoadResult;
      return { result, operations: result.requests, loadGeneratorSeconds };
    };
    const closedLoop = (origin: string, paths: string[], seconds: number, headers = {}) =>
      http({ origin, paths, connections: profile.connections, durationSeconds: seconds, headers });

    // Unmeasured runs (JIT, pools, channels); quick mode has none (warmupSeconds 0): its figures
    // are not measurements, and the measured runs exercise the same paths.
    const warmUp = async (name: string, run: Parameters<typeof measured>[1]): Promise<void> => {
      if (profile.warmupSeconds > 0) await measured(name, run, {}, false);
    };

    // Warm-ups fill the page cache and the content caches (every warm id is read once first, so
    // the warm read never meets a cold article) and let the JIT compile the paths.
    for (const path of warmPaths) {
      const response = await fetch(`${active.publicUrl}${path}`, { headers: auth });
      if (!response.ok) throw new Error(`warming ${path}: ${response.status}`);
      await response.arrayBuffer();
    }
    await warmUp('hot read warm-up', () =>
      closedLoop(active.publicUrl, [listPath], profile.warmupSeconds),
    );
    await warmUp('baseline warm-up', () =>
      closedLoop(baseline.origin, [listPath], profile.warmupSeconds),
    );
    await warmUp('warm read warm-up', () =>
      closedLoop(active.publicUrl, warmPaths, profile.warmupSeconds, auth),
    );

    const hot = await measured('hot read', () =>
      closedLoop(active.publicUrl, [listPath], profile.seconds),
    );
    const hotBaseline = await measured('hot read baseline', () =>
      closedLoop(baseline.origin, [listPath], profile.seconds),
    );
    const warm = await measured('warm read', () =>
      closedLoop(active.publicUrl, warmPaths, profile.seconds, auth),
    );
    const warmBaseline = await measured('warm read baseline', () =>
      closedLoop(baseline.origin, warmPaths, profile.seconds, auth),
    );
    if (warm) {
      await measured('warm read at half rate', () =>
        http({
          origin: active.publicUrl,
          paths: warmPaths,
          connections: profile.connections,
          durationSeconds: profile.seconds,
          headers: auth,
          overallRate: Math.max(1, Math.floor(warm.throughput / 2)),
        }),
      );
    }
    // Each cold-read server reads every cold id once (and for at least the warm-up time) before
    // the measured runs: both then hold every author name (COLD_READ_AUTHOR_NAME_TTL_MS), so the
    // measured runs compare the database access and not how many names each had to fetch.
    await warmUp('cold read warm-up', () => grpc(cold.target, profile.warmupSeconds, true));
    await warmUp('cold read baseline warm-up', () =>
      grpc(rawPg.target, profile.warmupSeconds, true),
    );
    const coldRead = await measured('cold read', () => grpc(cold.target, profile.seconds));
    const coldBaseline = await measured('cold read baseline', () =>
      grpc(rawPg.target, profile.seconds),
    );

    await measured(
      'websocket fan-out',
      async () => {
        const users = seeded.userIds
          .slice(1, 1 + profile.fanout.users)
          .map((id) => ({ id, token: mint(id) }));
        const child = startChild(
          'ws-fanout.ts',
          {
            gatewayOrigins: active.gatewayOrigins,
            eventsRedisUrl: active.redisUrl,
            users,
            socketsPerUser: profile.fanout.socketsPerUser,
            durationSeconds: profile.fanout.seconds,
            maxEventsInFlight: profile.fanout.inFlight,
          },
          { pinToLoadCpu: true },
        );
        const message = await child.next('result', (profile.fanout.seconds + 120) * 1_000);
        const loadGeneratorSeconds = allProcesses().get(child.pid)?.cpuSeconds ?? NaN;
        await child.stop();
        const result = message.result as FanoutResult;
        return { result, operations: result.deliveries, loadGeneratorSeconds };
      },
      { unit: 'deliveries/s' },
    );

    // Peak memory of the cluster and the bench's servers, before the service benches (which
    // run processes of their own and report their peaks themselves).
    const peakRssMiB: Record<string, number> = {};
    for (const [pid, name] of names()) {
      const memory = memoryOf(pid);
      if (memory) peakRssMiB[name] = Math.max(peakRssMiB[name] ?? 0, memory.peakRssMiB);
    }

    if (!quick) {
      if (selected('payment create')) await paymentScenario(active.redisUrl);
      if (jobsSelected) await jobsScenarios();
    }
    await Promise.all(background);

    const ratio = (scenario?: ScenarioResult, base?: ScenarioResult): number | undefined =>
      scenario && base && base.throughput > 0
        ? round(scenario.throughput / base.throughput, 2)
        : undefined;
    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      mode: quick ? 'quick' : 'full',
      command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine: { ...machineDescription(), hostname: hostname(), node: process.version },
      loadAverage: { before: loadBefore, after: loadAverage() },
      loadGeneratorCpu: loadGeneratorCpu() ?? null,
      clusterStartSeconds: clusterSeconds,
      scenarioWallSeconds: round((performance.now() - scenariosStarted) / 1_000),
      afterClusterSeconds: round((performance.now() - clusterReady) / 1_000),
      seed: seeded.result,
      scenarios,
      ratios: {
        hotRead: ratio(hot, hotBaseline),
        warmRead: ratio(warm, warmBaseline),
        coldRead: ratio(coldRead, coldBaseline),
      },
      idleRssMiB,
      peakRssMiB,
      failures,
      targets: [],
    };
    results.targets.push(...evaluateTargets(results));
    const written = await writeReport(results, { outDir, writeDocs, root: ROOT });
    process.stdout.write(
      `${JSON.stringify({ resultsFile: written, failures, errors: Object.fromEntries(scenarios.map((s) => [s.name, s.errors])) })}\n`,
    );
    if (Object.keys(failures).length > 0) process.exitCode = 1;
  } finally {
    await stopAll();
  }
  if (cpuProfiler) {
    cpuProfiler.close();
    try {
      say(
        `CPU profile summary: ${summariseCpuProfiles(cpuProfiler.dir, { order: cpuProfiler.profiled })}`,
      );
    } catch (error) {
      say(`CPU profile summary failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
}

function settledValue<Value>(result: PromiseSettledResult<Value>): Value {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
