// The `check` script is what CI relies on to catch generated code that drifted from proto/, so
// it is tested both ways: it passes on the committed code and fails on a stale copy.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', 'scripts', 'contracts.mjs');
const GENERATED = join(__dirname, 'generated');

const runCheck = (...args: string[]): { status: number | null; output: string } => {
  const result = spawnSync(process.execPath, [SCRIPT, 'check', ...args], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};

describe('contracts check', () => {
  let scratch: string;

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'strata-contracts-spec-'));
  });

  afterEach(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('passes on the committed generated code', () => {
    const { status, output } = runCheck();
    expect(output).toContain('src/generated is up to date');
    expect(status).toBe(0);
  });

  it('fails, naming the files, on an edited or an extra generated file', () => {
    const copy = join(scratch, 'generated');
    cpSync(GENERATED, copy, { recursive: true });
    appendFileSync(join(copy, 'payment/v1/payment.ts'), '\n// hand edit\n');
    appendFileSync(join(copy, 'payment/v1/leftover.ts'), 'export {};\n');

    const { status, output } = runCheck('--against', copy);

    expect(status).toBe(1);
    expect(output).toContain('differs: payment/v1/payment.ts');
    expect(output).toContain('stale): payment/v1/leftover.ts');
    expect(output).toContain('npm run codegen -w @strata/contracts');
  });
});
