import { type Writable } from 'node:stream';

export interface ProgressBar {
  /** Records `count` more items done. */
  tick(count?: number): void;
  /** Draws the final state and ends the line. */
  done(): void;
}

const WIDTH = 30;

/**
 * A one-line text progress bar (`retry-failed email [######.......] 120/300 40%`). On a terminal it
 * redraws in place; elsewhere (CI logs, pipes) it prints a line every 10 % so the output stays
 * readable.
 */
export function createProgressBar(
  stream: Writable & { isTTY?: boolean },
  label: string,
  total: number,
): ProgressBar {
  let done = 0;
  let lastDecile = -1;
  const interactive = stream.isTTY === true;

  function line(): string {
    const ratio = total === 0 ? 1 : Math.min(done / total, 1);
    const filled = Math.round(ratio * WIDTH);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${total} ${Math.floor(ratio * 100)}%`;
  }

  function draw(final: boolean) {
    if (interactive) {
      stream.write(`\r${line()}${final ? '\n' : ''}`);
      return;
    }
    const decile = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (decile !== lastDecile || final) {
      if (!(final && decile === lastDecile)) stream.write(`${line()}\n`);
      lastDecile = decile;
    }
  }

  draw(false);
  return {
    tick(count = 1) {
      done += count;
      draw(false);
    },
    done() {
      draw(true);
    },
  };
}
