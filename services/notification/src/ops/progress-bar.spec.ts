import { Writable } from 'node:stream';
import { createProgressBar } from './progress-bar';

function capture(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

describe('createProgressBar', () => {
  it('redraws one line in place on a terminal', () => {
    const output = capture(true);
    const bar = createProgressBar(output.stream, 'retry', 4);
    bar.tick();
    bar.tick(3);
    bar.done();
    expect(output.text()).toBe(
      [
        '\rretry [..............................] 0/4 0%',
        '\rretry [########......................] 1/4 25%',
        `\rretry [${'#'.repeat(30)}] 4/4 100%`,
        `\rretry [${'#'.repeat(30)}] 4/4 100%\n`,
      ].join(''),
    );
  });

  it('prints a line per 10 % elsewhere', () => {
    const output = capture(false);
    const bar = createProgressBar(output.stream, 'move', 100);
    for (let index = 0; index < 100; index += 1) bar.tick();
    bar.done();
    const lines = output.text().trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('move [..............................] 0/100 0%');
    expect(lines[10]).toBe(`move [${'#'.repeat(30)}] 100/100 100%`);
  });

  it('copes with nothing to do', () => {
    const output = capture(false);
    createProgressBar(output.stream, 'noop', 0).done();
    expect(output.text()).toBe(`noop [${'#'.repeat(30)}] 0/0 100%\n`);
  });
});
