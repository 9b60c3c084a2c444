#!/usr/bin/env node
// @ts-check
'use strict';

/**
 * `strata-prisma`: the stock Prisma CLI, run with the WebAssembly schema engine bridge
 * (`schema-engine.cjs`) instead of the native engine it would download.
 *
 * - Arguments, stdio and the exit code pass through unchanged; SIGINT/SIGTERM/SIGHUP are forwarded.
 * - If the caller already points `PRISMA_SCHEMA_ENGINE_BINARY` at an existing file (a native engine
 *   on a machine that has one), that choice wins.
 * - Update checks and telemetry are switched off so that nothing reaches for the network.
 * - `prisma.config.ts` files use `env('DATABASE_URL')`, which throws when the variable is unset; for
 *   commands that never connect (generate, validate, format, version) a placeholder is supplied so
 *   that code generation works on machines without a database.
 */

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BRIDGE_PATH = path.join(__dirname, 'schema-engine.cjs');
const PRISMA_CLI_PATH = path.join(
  path.dirname(require.resolve('prisma/package.json')),
  'build',
  'index.js',
);
const OFFLINE_COMMANDS = new Set([
  'generate',
  'validate',
  'format',
  'version',
  '--version',
  '-v',
  'help',
  '--help',
  '-h',
]);
const PLACEHOLDER_DATABASE_URL = 'postgresql://placeholder@localhost:5432/placeholder';

/** @type {NodeJS.ProcessEnv} */
const environment = { ...process.env };

// PRISMA_MIGRATION_ENGINE_BINARY is the deprecated name of the same setting.
const configuredEngine =
  environment['PRISMA_SCHEMA_ENGINE_BINARY'] || environment['PRISMA_MIGRATION_ENGINE_BINARY'];
environment['PRISMA_SCHEMA_ENGINE_BINARY'] =
  configuredEngine && fs.existsSync(path.resolve(configuredEngine))
    ? configuredEngine
    : BRIDGE_PATH;
delete environment['PRISMA_MIGRATION_ENGINE_BINARY'];
environment['CHECKPOINT_DISABLE'] ??= '1';
environment['PRISMA_HIDE_UPDATE_MESSAGE'] ??= '1';

const cliArguments = process.argv.slice(2);
const command =
  cliArguments.find((argument) => !argument.startsWith('-')) ?? cliArguments[0] ?? 'help';
const wantsHelp = cliArguments.includes('--help') || cliArguments.includes('-h');
if (!environment['DATABASE_URL'] && (OFFLINE_COMMANDS.has(command) || wantsHelp)) {
  environment['DATABASE_URL'] = PLACEHOLDER_DATABASE_URL;
}

const child = spawn(process.execPath, [PRISMA_CLI_PATH, ...cliArguments], {
  stdio: 'inherit',
  env: environment,
});

/** @type {NodeJS.Signals[]} */
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
for (const signal of FORWARDED_SIGNALS) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

child.on('error', (error) => {
  process.stderr.write(`strata-prisma: could not start the Prisma CLI: ${error.message}\n`);
  process.exitCode = 1;
});

child.on('exit', (code, signal) => {
  if (signal !== null) {
    // Re-raise so our own parent sees the same cause of death; exit 128+n if that is swallowed.
    for (const forwarded of FORWARDED_SIGNALS) process.removeAllListeners(forwarded);
    process.kill(process.pid, signal);
    process.exit(128 + os.constants.signals[signal]);
  }
  process.exit(code ?? 1);
});
