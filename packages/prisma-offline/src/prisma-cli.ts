import { spawn } from 'node:child_process';
import path from 'node:path';

// src/ (under Jest and typecheck) and dist/ (built) both sit one level below the package folder
// that holds bin/, so the same relative path works from either.
const PACKAGE_ROOT = path.join(__dirname, '..');

/** Absolute path of `bin/strata-prisma.cjs`: the stock Prisma CLI wired to the WebAssembly engine. */
export const prismaCliPath: string = path.join(PACKAGE_ROOT, 'bin', 'strata-prisma.cjs');

/** Absolute path of `bin/schema-engine.cjs`: the schema-engine protocol bridge the wrapper points Prisma at. */
export const schemaEngineBridgePath: string = path.join(PACKAGE_ROOT, 'bin', 'schema-engine.cjs');

const DEFAULT_TIMEOUT_MS = 180_000;
const OUTPUT_TAIL_CHARS = 4_000;

export interface RunPrismaCliOptions {
  /** Arguments after `prisma`, e.g. `['migrate', 'deploy']`. */
  readonly args: readonly string[];
  /** Folder holding the `prisma.config.ts` the CLI should load (or pass `--config` in `args`). */
  readonly cwd: string;
  /** Exported to the CLI as `DATABASE_URL`, which the stock `prisma.config.ts` reads. */
  readonly databaseUrl?: string;
  /** Exported as `SHADOW_DATABASE_URL`, for configs that declare `shadowDatabaseUrl`. */
  readonly shadowDatabaseUrl?: string;
  /** Extra variables for the CLI; they override the inherited environment (`undefined` removes one). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Kill the CLI (SIGTERM, then SIGKILL) after this long. Default 180 s. */
  readonly timeoutMs?: number;
}

export interface PrismaCliResult {
  /** Exit code; `null` when the process was killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when `timeoutMs` elapsed and the process was killed. */
  readonly timedOut: boolean;
}

/** A Prisma CLI run that did not exit with code 0. Output is kept, with database URLs redacted. */
export class PrismaCliError extends Error {
  override readonly name = 'PrismaCliError';

  constructor(
    readonly args: readonly string[],
    readonly result: PrismaCliResult,
  ) {
    const outcome = result.timedOut
      ? 'timed out'
      : result.signal !== null
        ? `was killed by ${result.signal}`
        : `exited with code ${String(result.code)}`;
    const output = `${result.stdout}\n${result.stderr}`.trim();
    super(`prisma ${args.join(' ')} ${outcome}\n${output.slice(-OUTPUT_TAIL_CHARS)}`);
  }
}

/**
 * Runs the stock Prisma CLI through the offline wrapper and collects its output. Never throws for a
 * non-zero exit: inspect `code` (see {@link migrateDeploy} for a throwing variant). Database URLs
 * given here are replaced by `<database-url>` in the returned output so that it can be logged.
 */
export function runPrismaCli(options: RunPrismaCliOptions): Promise<PrismaCliResult> {
  const secrets = [options.databaseUrl, options.shadowDatabaseUrl].filter(
    (value): value is string => value !== undefined && value.length > 0,
  );
  const redact = (text: string): string =>
    secrets.reduce((current, secret) => current.split(secret).join('<database-url>'), text);

  const environment: Record<string, string> = {};
  // The CLI is a separate process that needs the parent's PATH, HOME, proxy settings and so on;
  // a variable set to `undefined` in `options.env` is removed.
  for (const [name, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined) environment[name] = value;
  }
  if (options.databaseUrl !== undefined) environment['DATABASE_URL'] = options.databaseUrl;
  if (options.shadowDatabaseUrl !== undefined)
    environment['SHADOW_DATABASE_URL'] = options.shadowDatabaseUrl;

  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCliPath, ...options.args], {
      cwd: options.cwd,
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let killTimer: NodeJS.Timeout | undefined;
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    }, timeoutMs);

    child.on('error', (error) => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      resolve({ code, signal, stdout: redact(stdout), stderr: redact(stderr), timedOut });
    });
  });
}

/** Runs the CLI and rejects with a {@link PrismaCliError} unless it exits with code 0. */
export async function runPrismaCliOrThrow(options: RunPrismaCliOptions): Promise<PrismaCliResult> {
  const result = await runPrismaCli(options);
  if (result.code !== 0) throw new PrismaCliError(options.args, result);
  return result;
}

export interface MigrateDeployOptions {
  /** Folder holding the service's `prisma.config.ts` (it names the schema and the migrations folder). */
  readonly cwd: string;
  /** The database to migrate; it must exist (create it first, e.g. with `CREATE DATABASE`). */
  readonly databaseUrl: string;
  /** Path to a config file other than `<cwd>/prisma.config.ts`. */
  readonly configPath?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

/**
 * Applies every pending migration with the real `prisma migrate deploy` (through the WebAssembly
 * engine; no native binary, no network). Resolves with the CLI output; rejects with a
 * {@link PrismaCliError} carrying that output if any migration fails.
 */
export function migrateDeploy(options: MigrateDeployOptions): Promise<PrismaCliResult> {
  const args = [
    'migrate',
    'deploy',
    ...(options.configPath === undefined ? [] : ['--config', options.configPath]),
  ];
  return runPrismaCliOrThrow({
    args,
    cwd: options.cwd,
    databaseUrl: options.databaseUrl,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
