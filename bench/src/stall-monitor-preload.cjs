// Stall log, for finding where a latency tail comes from (bench/README.md, "Stall log"). Loaded
// like the CPU profiler preload, with NODE_OPTIONS="--require <this file>"; does nothing unless
// STRATA_STALL_LOG_DIR is set. Then, in the main thread of every Node process, it appends to
// <dir>/<label>-<pid>.log one line per event-loop stall (a 5 ms timer that fired more than
// STRATA_STALL_MIN_MS late, default 25) and one per garbage collection longer than 10 ms:
//   <epoch ms> stall <ms>         the loop could not run anything for that long
//   <epoch ms> gc <kind> <ms>     a GC pause (kind: minor, major, incremental, weakcb)
// Stalls are rare events, so a synchronous append per event costs nothing measurable. Plain
// CommonJS, no dependencies, every step guarded, nothing keeps a process alive.
'use strict';

const directory = process.env.STRATA_STALL_LOG_DIR;

function install() {
  if (!require('node:worker_threads').isMainThread) return;
  const fs = require('node:fs');
  const path = require('node:path');
  const { PerformanceObserver, constants } = require('node:perf_hooks');
  const minimumMs = Number(process.env.STRATA_STALL_MIN_MS) || 25;
  const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[^.]*$/, '') : 'node';
  const label = `${path.basename(process.cwd())}-${script}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, `${label}-${process.pid}.log`);
  const write = (line) => {
    try {
      fs.appendFileSync(file, `${Date.now()} ${line}\n`);
    } catch {
      // the directory went away: nothing to log to
    }
  };

  const tickMs = 5;
  let expected = performance.now() + tickMs;
  setInterval(() => {
    const now = performance.now();
    const lateMs = now - expected;
    if (lateMs > minimumMs) write(`stall ${Math.round(lateMs)}`);
    expected = now + tickMs;
  }, tickMs).unref();

  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < 10) continue;
      write(
        `gc ${kinds[entry.detail && entry.detail.kind] || 'other'} ${Math.round(entry.duration)}`,
      );
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

if (directory) {
  try {
    install();
  } catch (error) {
    try {
      process.stderr.write(
        `[stall-monitor ${process.pid}] not installed: ${error && error.message}\n`,
      );
    } catch {
      // stderr closed
    }
  }
}
