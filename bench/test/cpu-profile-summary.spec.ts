import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CpuProfile,
  analyseProfile,
  flameGraphSvg,
  summariseCpuProfiles,
  whereOf,
} from '../src/cpu-profile-summary';

const ROOT = '/repo';
const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
  scriptId: '1',
});

// (root) → handle (ours) → write (@grpc/grpc-js) → writeHead (node:internal/http2), plus idle and
// GC. Seven samples of 1 ms each (a sample lasts until the next one; the last until endTime).
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '', -1), children: [2, 5, 6] },
    {
      id: 2,
      callFrame: frame('handle', 'file:///repo/services/content/dist/app.js', 9),
      children: [3],
    },
    {
      id: 3,
      callFrame: frame('write', 'file:///repo/node_modules/@grpc/grpc-js/build/src/server.js', 99),
      children: [4],
    },
    { id: 4, callFrame: frame('writeHead', 'node:internal/http2/core', 10) },
    { id: 5, callFrame: frame('(idle)', '', -1) },
    { id: 6, callFrame: frame('(garbage collector)', '', -1) },
  ],
  startTime: 0,
  endTime: 7_000,
  samples: [2, 3, 4, 4, 5, 6, 3],
  timeDeltas: [0, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
};

describe('whereOf', () => {
  it.each([
    ['file:///repo/node_modules/fastify/lib/route.js', 'fastify', 'package'],
    ['/repo/node_modules/@prisma/client/runtime/library.js', '@prisma/client', 'package'],
    ['file:///repo/node_modules/.prisma/client/index.js', '.prisma/client', 'package'],
    [
      'file:///repo/node_modules/a/node_modules/@grpc/grpc-js/build/src/call.js',
      '@grpc/grpc-js',
      'package',
    ],
    ['node:internal/http2/core', 'node:internal/http2', 'node'],
    ['node:internal/deps/undici/undici', 'node:internal/deps/undici', 'node'],
    ['node:internal/timers', 'node:internal/timers', 'node'],
    ['node:events', 'node:events', 'node'],
    ['file:///repo/packages/grpc/dist/server.js', 'packages/grpc/dist/server.js', 'strata'],
    [
      'file:///repo/services/content/dist/generated/prisma/runtime/x.js',
      'services/content/dist/generated/prisma',
      'strata',
    ],
    ['file:///elsewhere/script.js', '/elsewhere/script.js', 'other'],
  ])('%s → %s', (url, name, kind) => {
    expect(whereOf(frame('f', url), ROOT)).toMatchObject({ name, kind });
  });

  it('keeps V8 pseudo-frames and groups builtins', () => {
    expect(whereOf(frame('(garbage collector)', '', -1), ROOT).name).toBe('(garbage collector)');
    expect(whereOf(frame('JSON.parse', '', -1), ROOT).name).toBe('(V8 builtins and natives)');
  });
});

describe('analyseProfile', () => {
  const analysis = analyseProfile(PROFILE, ROOT);

  it('splits sampled time into busy and idle', () => {
    expect(analysis).toMatchObject({ sampledMs: 7, idleMs: 1, busyMs: 6, garbageCollectorMs: 1 });
  });

  it('groups self and inclusive time by where, idle left out', () => {
    expect(analysis.where.map((row) => [row.name, row.selfMs, row.inclusiveMs])).toEqual([
      ['@grpc/grpc-js', 2, 4],
      ['node:internal/http2', 2, 2],
      ['services/content/dist/app.js', 1, 5],
      ['(garbage collector)', 1, 1],
    ]);
  });

  it('ranks functions by self time and Strata functions by inclusive time', () => {
    expect(analysis.functions.slice(0, 2).map((row) => [row.functionName, row.selfMs])).toEqual([
      ['write', 2],
      ['writeHead', 2],
    ]);
    expect(analysis.functions[0].location).toBe('@grpc/grpc-js/build/src/server.js:100');
    expect(analysis.strataInclusive.map((row) => [row.functionName, row.inclusiveMs])).toEqual([
      ['handle', 5],
    ]);
  });

  it("leaves the profiler's own start and stop out of busy time", () => {
    const withProfiler: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2, 5] },
        { id: 2, callFrame: frame('emit', 'node:events', 470), children: [3] },
        {
          id: 3,
          callFrame: frame('start', 'file:///repo/bench/src/cpu-profiler-preload.cjs', 47),
          children: [4],
        },
        { id: 4, callFrame: frame('dispatch', '', -1) },
        { id: 5, callFrame: frame('handle', 'file:///repo/services/content/dist/app.js', 9) },
      ],
      startTime: 0,
      endTime: 3_000,
      samples: [4, 5, 5],
      timeDeltas: [0, 1_000, 1_000],
    };
    const result = analyseProfile(withProfiler, ROOT);
    expect(result).toMatchObject({ sampledMs: 3, profilerMs: 1, busyMs: 2 });
    expect(result.where.map((row) => row.name)).toEqual(['services/content/dist/app.js']);
  });

  it('counts a recursive function once per sample in inclusive time', () => {
    const recursive: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2] },
        { id: 2, callFrame: frame('walk', 'file:///repo/bench/src/x.ts', 1), children: [3] },
        { id: 3, callFrame: frame('walk', 'file:///repo/bench/src/x.ts', 1) },
      ],
      startTime: 0,
      endTime: 2_000,
      samples: [3, 3],
      timeDeltas: [0, 1_000],
    };
    const result = analyseProfile(recursive, ROOT);
    expect(result.strataInclusive[0]).toMatchObject({ functionName: 'walk', inclusiveMs: 2 });
    expect(result.where[0]).toMatchObject({ selfMs: 2, inclusiveMs: 2 });
  });
});

describe('flameGraphSvg', () => {
  it('draws inclusive busy time as widths, without idle', () => {
    const svg = flameGraphSvg(PROFILE, analyseProfile(PROFILE, ROOT), 'warm read — content', ROOT);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // 1200 px for 6 ms busy: handle (5 ms) 1000 px, write (4 ms) 800 px, GC (1 ms) 200 px.
    expect(svg).toMatch(
      /<title>handle services\/content\/dist\/app.js:10 — 5.0 ms, 83.3 %<\/title><rect x="0.00" y="40" width="1000.00"/,
    );
    expect(svg).toContain('width="800.00"');
    expect(svg).toContain('width="200.00"');
    expect(svg).not.toContain('(idle)');
    expect(svg).toContain('warm read — content');
  });
});

describe('summariseCpuProfiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'strata-cpu-summary-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a summary per scenario, one in the root, and a flame graph per process', () => {
    mkdirSync(join(dir, 'warm-read'));
    mkdirSync(join(dir, '.raw'));
    // Ten times longer than PROFILE: above the threshold under which a process counts as idle.
    const longer: CpuProfile = {
      ...PROFILE,
      endTime: PROFILE.endTime * 10,
      timeDeltas: PROFILE.timeDeltas!.map((delta) => delta * 10),
    };
    writeFileSync(join(dir, 'warm-read/content-123.cpuprofile'), JSON.stringify(longer));
    const idle: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2] },
        { id: 2, callFrame: frame('(idle)', '', -1) },
      ],
      startTime: 0,
      endTime: 7_000,
      samples: [2],
      timeDeltas: [0],
    };
    writeFileSync(join(dir, 'warm-read/mail-catcher-456.cpuprofile'), JSON.stringify(idle));

    const file = summariseCpuProfiles(dir, { root: ROOT });

    const scenario = readFileSync(join(dir, 'warm-read/summary.md'), 'utf8');
    expect(scenario).toContain('## warm-read');
    expect(scenario).toContain('| content | 123 | 60.0 | 16.7 % |');
    expect(scenario).toContain('### content (pid 123): 60.0 ms busy of 70.0 ms sampled');
    expect(scenario).toContain('| `@grpc/grpc-js` | 20.0 | 33.3 % | 40.0 | 66.7 % |');
    expect(scenario).toContain('Flame graph: [content-123.svg](content-123.svg)');
    // Idle in the window: one line, no tables.
    expect(scenario).not.toContain('### mail-catcher');
    expect(scenario).toContain('mail-catcher 0.0 ms');
    expect(readFileSync(join(dir, 'warm-read/content-123.svg'), 'utf8')).toContain('<svg');

    const combined = readFileSync(file, 'utf8');
    expect(file).toBe(join(dir, 'summary.md'));
    expect(combined).toContain('## warm-read');
    expect(combined).toContain('[content-123.svg](warm-read/content-123.svg)');
  });
});
