import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateDeploy, PrismaCliError, runPrismaCli, schemaEngineBridgePath } from './prisma-cli';

jest.setTimeout(60_000);

describe('runPrismaCli', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-prisma-cli-'));
  });

  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the stock CLI with the wasm bridge as its schema engine', async () => {
    const result = await runPrismaCli({
      args: ['--version'],
      cwd: scratch,
      env: { PRISMA_SCHEMA_ENGINE_BINARY: undefined },
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/prisma\s+: 7\.10\.0/);
    expect(result.stdout).toContain('schema-engine-cli 0edf323efd1d98336f3f0a68684b56f689b900d3');
    expect(result.stdout).toContain(path.relative(scratch, schemaEngineBridgePath));
  });

  it('keeps a schema engine the caller points at, when that file exists', async () => {
    const fakeEngine = path.join(scratch, 'native-schema-engine');
    fs.writeFileSync(fakeEngine, '#!/bin/sh\necho "schema-engine-cli native-build-from-caller"\n', {
      mode: 0o755,
    });

    const result = await runPrismaCli({
      args: ['--version'],
      cwd: scratch,
      env: { PRISMA_SCHEMA_ENGINE_BINARY: fakeEngine },
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('native-build-from-caller');
  });

  it('falls back to the bridge when the configured engine path does not exist', async () => {
    const result = await runPrismaCli({
      args: ['--version'],
      cwd: scratch,
      env: { PRISMA_SCHEMA_ENGINE_BINARY: path.join(scratch, 'missing-engine') },
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('schema-engine-cli 0edf323efd1d98336f3f0a68684b56f689b900d3');
  });

  it('passes the exit code through and never throws for a failing command', async () => {
    const result = await runPrismaCli({ args: ['no-such-command'], cwd: scratch });

    expect(result.code).not.toBe(0);
    expect(result.timedOut).toBe(false);
  });

  it('kills a CLI run that exceeds its timeout', async () => {
    const result = await runPrismaCli({ args: ['--version'], cwd: scratch, timeoutMs: 1 });

    expect(result.timedOut).toBe(true);
    expect(result.code === 0).toBe(false);
  });
});

describe('migrateDeploy', () => {
  let project: string;

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-migrate-deploy-'));
    fs.mkdirSync(path.join(project, 'prisma'));
    fs.writeFileSync(
      path.join(project, 'prisma', 'schema.prisma'),
      'datasource db {\n  provider = "postgresql"\n}\n',
    );
    fs.symlinkSync(
      path.join(__dirname, '..', '..', '..', 'node_modules'),
      path.join(project, 'node_modules'),
      'dir',
    );
    fs.writeFileSync(
      path.join(project, 'prisma.config.ts'),
      "import { defineConfig, env } from 'prisma/config';\n" +
        "export default defineConfig({ schema: 'prisma/schema.prisma', datasource: { url: env('DATABASE_URL') } });\n",
    );
  });

  afterAll(() => {
    fs.rmSync(project, { recursive: true, force: true });
  });

  it('rejects with a PrismaCliError that carries the output with the database URL redacted', async () => {
    // Nothing listens on port 1: the CLI fails to connect.
    const databaseUrl = 'postgresql://strata:s3cret-password@127.0.0.1:1/unreachable';

    const failure = await migrateDeploy({ cwd: project, databaseUrl }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(PrismaCliError);
    const error = failure as PrismaCliError;
    expect(error.result.code).not.toBe(0);
    expect(error.message).toContain('prisma migrate deploy exited with code');
    expect(error.message).not.toContain('s3cret-password');
    expect(`${error.result.stdout}${error.result.stderr}`).not.toContain('s3cret-password');
  });
});
