// CPU profiles on demand, for `npm run bench -- --cpu-prof <dir>` (see bench/README.md).
// Loaded into every Node process of the cluster with NODE_OPTIONS="--require <this file>", because
// `--cpu-prof` is refused in NODE_OPTIONS and profiles the whole life of a process, while the bench
// wants one scenario's window. Does nothing unless STRATA_CPU_PROF_DIR is set; then SIGUSR2 starts
// the V8 sampling profiler (node:inspector, in-process) and the next SIGUSR2 stops it and writes
// <STRATA_CPU_PROF_DIR>/<label>-<pid>-<n>.cpuprofile (Chrome DevTools format).
// Plain CommonJS with no dependencies: it runs before any service code and must never break one,
// so every step is guarded and nothing here keeps a process alive.
'use strict';

const directory = process.env.STRATA_CPU_PROF_DIR;

function label() {
  const path = require('node:path');
  const named = process.env.STRATA_PROCESS_NAME;
  // `node dist/main.js` in services/content → "content-main": the bench renames files by pid
  // anyway, the label only helps someone reading a directory of raw profiles.
  const script = process.argv[1];
  const raw = named
    ? named
    : script
      ? `${path.basename(process.cwd())}-${path.basename(script).replace(/\.[^.]*$/, '')}`
      : 'node';
  return raw.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function install() {
  // Signals reach only the main thread; worker threads (e.g. the content service's media sandbox) load
  // NODE_OPTIONS' --require too and must stay untouched.
  if (!require('node:worker_threads').isMainThread) return;
  const fs = require('node:fs');
  const path = require('node:path');
  const inspector = require('node:inspector');
  const interval = Number(process.env.STRATA_CPU_PROF_INTERVAL_US) || 200;
  let session;
  let count = 0;
  // A signal that arrives while a profile is still being written is ignored, not queued.
  let busy = false;

  const warn = (message) => {
    try {
      process.stderr.write(`[cpu-profiler ${process.pid}] ${message}\n`);
    } catch {
      // stderr closed: nothing else to do
    }
  };

  const start = () => {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval });
    session.post('Profiler.start');
  };

  const stop = () => {
    const current = session;
    session = undefined;
    busy = true;
    const finish = () => {
      try {
        current.disconnect();
      } catch {
        // already disconnected
      }
      busy = false;
    };
    try {
      current.post('Profiler.stop', (error, result) => {
        try {
          if (error) throw error;
          count += 1;
          fs.mkdirSync(directory, { recursive: true });
          const file = path.join(directory, `${label()}-${process.pid}-${count}.cpuprofile`);
          // Written under a temporary name and renamed, so whoever waits for the file never
          // reads half of it.
          fs.writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
          fs.renameSync(`${file}.tmp`, file);
        } catch (failure) {
          warn(`could not write the profile: ${failure && failure.message}`);
        } finally {
          finish();
        }
      });
    } catch (failure) {
      warn(`profiler stop failed: ${failure && failure.message}`);
      finish();
    }
  };

  process.on('SIGUSR2', () => {
    if (busy) return;
    if (session !== undefined) {
      stop();
      return;
    }
    try {
      start();
    } catch (failure) {
      warn(`profiler start failed: ${failure && failure.message}`);
      try {
        if (session !== undefined) session.disconnect();
      } catch {
        // never connected
      }
      session = undefined;
    }
  });
}

if (directory) {
  try {
    install();
  } catch (failure) {
    process.stderr.write(
      `[cpu-profiler ${process.pid}] not installed: ${failure && failure.message}\n`,
    );
  }
}
