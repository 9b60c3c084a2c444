import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** Runs the fixture entry point as a real process (TypeScript via tsx, kit sources via the condition). */
function runFixture(scenario: 'serve' | 'crash') {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@strata/source',
      '--import',
      'tsx',
      path.join(__dirname, 'testing', 'fixture-process.ts'),
      scenario,
    ],
    {
      cwd: path.join(__dirname, '..'),
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const waitFor = async (message: string) => {
    const giveUpAt = Date.now() + 20_000;
    while (!lines().some((line) => line['msg'] === message)) {
      if (Date.now() > giveUpAt || child.exitCode !== null)
        throw new Error(`no "${message}" in:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  return { child, exited, lines, waitFor, stderr: () => stderr };
}

// Each test starts Node and compiles the sources on the fly.
jest.setTimeout(30_000);

describe('runProcess in a real process', () => {
  it('exits 0 on SIGTERM, with every log line written before the exit', async () => {
    const fixture = runFixture('serve');
    await fixture.waitFor('fixture ready');
    expect(fixture.lines().find((line) => line['msg'] === 'fixture ready')).toMatchObject({
      scenario: 'serve',
    });

    fixture.child.kill('SIGTERM');
    const [code, signal] = await fixture.exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const messages = fixture.lines().map((line) => line['msg']);
    expect(messages.filter((message) => message === 'draining')).toHaveLength(2_000);
    expect(messages.at(-1)).toBe('stopped');
    expect(messages.indexOf('shutting down')).toBeLessThan(messages.indexOf('draining'));
  });

  it('exits 1 after an uncaught exception, logged as fatal', async () => {
    const fixture = runFixture('crash');
    const [code] = await fixture.exited;

    expect(code).toBe(1);
    expect(
      fixture.lines().find((line) => line['msg'] === 'uncaught exception, shutting down'),
    ).toMatchObject({
      level: 'fatal',
      err: { message: 'boom from a timer' },
    });
    expect(fixture.lines().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 1 });
  });
});
