// Where the CPU goes, from the `.cpuprofile` files of `npm run bench -- --cpu-prof <dir>`:
// per scenario a `summary.md` (per process: busy time, self and inclusive time by "where" — an npm
// package, a Node module, a file of Strata's — and the top functions) and an icicle flame graph
// per process (`<process>-<pid>.svg`, plain SVG text); `<dir>/summary.md` holds every scenario.
//
//   node --import tsx bench/src/cpu-profile-summary.ts <dir>
//
// `<dir>` holds one folder per scenario with `<process>-<pid>.cpuprofile` files (or the files
// themselves). Chrome's format: a tree of `nodes` (callFrame + children) and, per sample, the
// node on top of the stack (`samples`) and the microseconds since the previous one (`timeDeltas`).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(__dirname, '../..');
const TOP_WHERE = 15;
const TOP_FUNCTIONS = 10;
const TOP_INCLUSIVE_WHERE = 8;
const TOP_STRATA_INCLUSIVE = 8;
/** Below both, a process gets one line instead of its own tables (it was idle in the window). */
const QUIET_BUSY_MS = 20;
const QUIET_SHARE_OF_BUSIEST = 0.02;

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
  readonly scriptId?: string;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export type WhereKind = 'strata' | 'package' | 'node' | 'v8' | 'other';

export interface Where {
  /** The group: `@grpc/grpc-js`, `node:internal/http2`, `services/content/dist/app.js`, `(garbage collector)`. */
  readonly name: string;
  readonly kind: WhereKind;
  /** Where the function is, for tables: a path inside the package or repository, with its line. */
  readonly location: string;
}

/** `(idle)`: the event loop waiting; sampled, but not CPU spent. */
const IDLE = '(idle)';
/**
 * The preload's own start and stop (its SIGUSR2 handler and what it calls): the first sample of a
 * window sits there, often with a long gap to the next. Not the process's work: left out like idle.
 */
const PROFILER_SCRIPT = '/cpu-profiler-preload.cjs';

/** Classifies a frame; `root` is the repository, whose files are shown relative to it. */
export function whereOf(frame: CallFrame, root: string = ROOT): Where {
  const line = frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : '';
  const { url } = frame;
  if (url === '') {
    // `(program)`, `(garbage collector)`, `(idle)`, `(root)`, or a V8 builtin / native function
    // without a script (JSON.parse, a Buffer copy): attributed to V8 as a whole.
    return frame.functionName.startsWith('(')
      ? { name: frame.functionName, kind: 'v8', location: '' }
      : { name: '(V8 builtins and natives)', kind: 'v8', location: '' };
  }
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    let name = url;
    if (parts[0] === 'internal' && parts.length > 2) {
      name =
        parts[1] === 'deps' && parts.length > 3
          ? `node:internal/deps/${parts[2]}`
          : `node:internal/${parts[1]}`;
    }
    return { name, kind: 'node', location: `${url}${line}` };
  }
  if (!url.startsWith('file://') && !url.startsWith('/')) {
    return { name: url.split(':')[0] ?? url, kind: 'other', location: `${url}${line}` };
  }
  let path = url;
  try {
    if (url.startsWith('file://')) path = fileURLToPath(url);
  } catch {
    // keep the URL as it is
  }
  const modules = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (modules >= 0) {
    const inside = path.slice(modules + '/node_modules/'.length).split(sep);
    // Scoped packages and Prisma's generated `.prisma/client` take two segments.
    const size = inside[0]?.startsWith('@') || inside[0]?.startsWith('.') ? 2 : 1;
    return {
      name: inside.slice(0, size).join('/'),
      kind: 'package',
      location: `${inside.join('/')}${line}`,
    };
  }
  const inRoot = relative(root, path);
  if (!inRoot.startsWith('..') && !inRoot.startsWith(sep)) {
    const parts = inRoot.split(sep);
    // Generated code (a Prisma client, gRPC stubs) is many files of one thing: one group.
    const generated = parts.indexOf('generated');
    const name = generated >= 0 ? parts.slice(0, generated + 2).join('/') : parts.join('/');
    return { name, kind: 'strata', location: `${parts.join('/')}${line}` };
  }
  return { name: path, kind: 'other', location: `${path}${line}` };
}

export interface Row {
  readonly name: string;
  readonly kind: WhereKind;
  readonly selfMs: number;
  readonly inclusiveMs: number;
}

export interface FunctionRow {
  readonly functionName: string;
  readonly where: string;
  readonly location: string;
  readonly selfMs: number;
  readonly inclusiveMs: number;
}

export interface ProfileAnalysis {
  /** Sampled wall time of the window (every sample, idle included). */
  readonly sampledMs: number;
  /** Sampled time minus `(idle)` and the profiler: what the process spent on the CPU, as far as V8 saw. */
  readonly busyMs: number;
  readonly idleMs: number;
  /** Samples inside the preload's signal handler (starting and stopping the profiler). */
  readonly profilerMs: number;
  readonly garbageCollectorMs: number;
  /** By "where" (every group on a busy stack), most self time first. */
  readonly where: readonly Row[];
  /** By function, most self time first. */
  readonly functions: readonly FunctionRow[];
  /** Strata's own functions, most inclusive time first. */
  readonly strataInclusive: readonly FunctionRow[];
  /** Node id → inclusive µs (idle excluded), for the flame graph. */
  readonly inclusiveUs: ReadonlyMap<number, number>;
  readonly rootId: number | undefined;
}

/**
 * Self µs per node id. A sample holds until the next one (as DevTools draws it); the last one
 * until the profile's end.
 */
export function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length === 0 || deltas.length !== samples.length) {
    // No timeline (an old format): hit counts spread evenly over the profile's duration.
    const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
    const each = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const node of profile.nodes) self.set(node.id, (node.hitCount ?? 0) * each);
    return self;
  }
  const stamps: number[] = [];
  let time = profile.startTime;
  for (const delta of deltas) {
    time += Math.max(0, delta);
    stamps.push(time);
  }
  for (let index = 0; index < samples.length; index += 1) {
    const at = stamps[index] ?? 0;
    const next = index + 1 < stamps.length ? (stamps[index + 1] ?? at) : profile.endTime;
    const id = samples[index] ?? -1;
    self.set(id, (self.get(id) ?? 0) + Math.max(0, next - at));
  }
  return self;
}

const ms = (microseconds: number): number => microseconds / 1_000;

export function analyseProfile(profile: CpuProfile, root: string = ROOT): ProfileAnalysis {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const rootId = profile.nodes.find((node) => !parent.has(node.id))?.id;
  const wheres = new Map(profile.nodes.map((node) => [node.id, whereOf(node.callFrame, root)]));
  const functionKey = (node: ProfileNode): string =>
    `${node.callFrame.functionName}\u0000${wheres.get(node.id)?.location ?? ''}`;
  const whereKinds = new Map([...wheres.values()].map((where) => [where.name, where.kind]));
  const self = selfTimes(profile);
  const inProfiler = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)?.callFrame.url.endsWith(PROFILER_SCRIPT)) return true;
    }
    return false;
  };

  let sampled = 0;
  let idle = 0;
  let profiler = 0;
  let garbage = 0;
  const whereSelf = new Map<string, { kind: WhereKind; us: number }>();
  const whereInclusive = new Map<string, number>();
  const functionSelf = new Map<string, { node: ProfileNode; us: number }>();
  const functionInclusive = new Map<string, { node: ProfileNode; us: number }>();
  const inclusiveUs = new Map<number, number>();

  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined || us <= 0) continue;
    sampled += us;
    const where = wheres.get(id)!;
    if (where.name === IDLE) {
      idle += us;
      continue;
    }
    if (inProfiler(id)) {
      profiler += us;
      continue;
    }
    if (where.name === '(garbage collector)') garbage += us;
    const whereEntry = whereSelf.get(where.name) ?? { kind: where.kind, us: 0 };
    whereEntry.us += us;
    whereSelf.set(where.name, whereEntry);
    const key = functionKey(node);
    const functionEntry = functionSelf.get(key) ?? { node, us: 0 };
    functionEntry.us += us;
    functionSelf.set(key, functionEntry);
    // Inclusive: every group and function on this stack once (recursion counts once).
    const seenWheres = new Set<string>();
    const seenFunctions = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      inclusiveUs.set(at, (inclusiveUs.get(at) ?? 0) + us);
      const frame = byId.get(at);
      if (frame === undefined || at === rootId) continue;
      const frameWhere = wheres.get(at)!.name;
      if (!seenWheres.has(frameWhere)) {
        seenWheres.add(frameWhere);
        whereInclusive.set(frameWhere, (whereInclusive.get(frameWhere) ?? 0) + us);
      }
      const frameKey = functionKey(frame);
      if (!seenFunctions.has(frameKey)) {
        seenFunctions.add(frameKey);
        const entry = functionInclusive.get(frameKey) ?? { node: frame, us: 0 };
        entry.us += us;
        functionInclusive.set(frameKey, entry);
      }
    }
  }

  const functionRow = (key: string, node: ProfileNode): FunctionRow => {
    const where = wheres.get(node.id)!;
    return {
      functionName: node.callFrame.functionName || '(anonymous)',
      where: where.name,
      location: where.location,
      selfMs: ms(functionSelf.get(key)?.us ?? 0),
      inclusiveMs: ms(functionInclusive.get(key)?.us ?? 0),
    };
  };
  return {
    sampledMs: ms(sampled),
    busyMs: ms(sampled - idle - profiler),
    idleMs: ms(idle),
    profilerMs: ms(profiler),
    garbageCollectorMs: ms(garbage),
    where: [...whereInclusive]
      .map(([name, us]) => ({
        name,
        kind: whereKinds.get(name) ?? 'other',
        selfMs: ms(whereSelf.get(name)?.us ?? 0),
        inclusiveMs: ms(us),
      }))
      .sort((a, b) => b.selfMs - a.selfMs || b.inclusiveMs - a.inclusiveMs),
    functions: [...functionSelf]
      .sort((a, b) => b[1].us - a[1].us)
      .map(([key, entry]) => functionRow(key, entry.node)),
    strataInclusive: [...functionInclusive]
      .filter(([, entry]) => wheres.get(entry.node.id)?.kind === 'strata')
      .sort((a, b) => b[1].us - a[1].us)
      .map(([key, entry]) => functionRow(key, entry.node)),
    inclusiveUs,
    rootId,
  };
}

// ---- flame graph ---------------------------------------------------------------------------

const SVG_WIDTH = 1200;
const ROW_HEIGHT = 16;
const MAX_DEPTH = 150;
const CHAR_WIDTH = 6.6;

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (character) =>
      ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[character] ??
      character,
  );
}

function hash(text: string): number {
  let value = 0;
  for (let index = 0; index < text.length; index += 1) {
    value = (value * 31 + text.charCodeAt(index)) >>> 0;
  }
  return value;
}

/** Colour by kind (green ours, orange packages, blue Node, grey V8), shade by group. */
function colour(where: Where): string {
  const hue = { strata: 120, package: 28, node: 210, v8: 0, other: 280 }[where.kind];
  const saturation = where.kind === 'v8' ? 0 : 55;
  const lightness = 58 + (hash(where.name) % 20);
  return `hsl(${hue},${saturation}%,${lightness}%)`;
}

/** An icicle of inclusive time (callers above callees), idle left out; plain SVG text. */
export function flameGraphSvg(
  profile: CpuProfile,
  analysis: ProfileAnalysis,
  title: string,
  root: string = ROOT,
): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const total = analysis.busyMs * 1_000;
  const scale = total > 0 ? SVG_WIDTH / total : 0;
  const boxes: string[] = [];
  let depthDrawn = 0;
  const draw = (id: number, x: number, depth: number): void => {
    const node = byId.get(id);
    const us = analysis.inclusiveUs.get(id) ?? 0;
    const width = us * scale;
    if (node === undefined || width < 0.3 || depth >= MAX_DEPTH) return;
    depthDrawn = Math.max(depthDrawn, depth + 1);
    const where = whereOf(node.callFrame, root);
    const isRoot = id === analysis.rootId;
    const name = isRoot ? 'all busy time' : node.callFrame.functionName || '(anonymous)';
    const share = total > 0 ? (100 * us) / total : 0;
    const tooltip = `${name}${where.location ? ` ${where.location}` : ''} — ${ms(us).toFixed(1)} ms, ${share.toFixed(1)} %`;
    const y = 24 + depth * ROW_HEIGHT;
    const fits = Math.floor((width - 4) / CHAR_WIDTH);
    const label =
      fits >= 3 ? (name.length <= fits ? name : `${name.slice(0, Math.max(1, fits - 1))}…`) : '';
    boxes.push(
      `<g><title>${escapeXml(tooltip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${ROW_HEIGHT - 1}" fill="${isRoot ? '#ddd' : colour(where)}"/>` +
        (label ? `<text x="${(x + 2).toFixed(2)}" y="${y + 11}">${escapeXml(label)}</text>` : '') +
        '</g>',
    );
    let childX = x;
    const children = [...(node.children ?? [])].sort(
      (a, b) => (analysis.inclusiveUs.get(b) ?? 0) - (analysis.inclusiveUs.get(a) ?? 0),
    );
    for (const child of children) {
      const childNode = byId.get(child);
      if (childNode?.callFrame.functionName === IDLE && childNode.callFrame.url === '') continue;
      draw(child, childX, depth + 1);
      childX += (analysis.inclusiveUs.get(child) ?? 0) * scale;
    }
  };
  if (analysis.rootId !== undefined) draw(analysis.rootId, 0, 0);
  const height = 24 + depthDrawn * ROW_HEIGHT + 20;
  const legend =
    'green: Strata · orange: npm packages · blue: Node internals · grey: V8 (GC, program, builtins) · hover for times';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${height}" viewBox="0 0 ${SVG_WIDTH} ${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="4" y="15" font-size="13">${escapeXml(`${title}: ${analysis.busyMs.toFixed(1)} ms busy`)}</text>`,
    ...boxes,
    `<text x="4" y="${height - 6}" fill="#555">${escapeXml(legend)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

// ---- markdown ------------------------------------------------------------------------------

export interface ProcessProfile {
  readonly name: string;
  readonly pid: number;
  readonly file: string;
  readonly analysis: ProfileAnalysis;
  /** File name of its flame graph, beside the summary. */
  readonly svg: string;
}

const fixed = (value: number): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = (part: number, whole: number): string =>
  whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '–';
const code = (text: string): string => `\`${text.replace(/`/g, "'")}\``;

/** A markdown table; columns of figures are right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const numeric = (index: number): boolean =>
    rows.length > 0 && rows.every((row) => /^[\d,.\s%–]+$/.test(row[index] ?? ''));
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, index) => (numeric(index) ? '--:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

export function scenarioMarkdown(scenario: string, processes: readonly ProcessProfile[]): string {
  const sorted = [...processes].sort((a, b) => b.analysis.busyMs - a.analysis.busyMs);
  const busiest = sorted[0]?.analysis.busyMs ?? 0;
  const quiet = (entry: ProcessProfile): boolean =>
    entry.analysis.busyMs < QUIET_BUSY_MS ||
    entry.analysis.busyMs < busiest * QUIET_SHARE_OF_BUSIEST;
  const window = Math.max(0, ...processes.map((entry) => entry.analysis.sampledMs));
  const lines = [
    `## ${scenario}`,
    '',
    `${processes.length} process${processes.length === 1 ? '' : 'es'} profiled over ~${fixed(window / 1_000)} s. **busy** = sampled time minus \`(idle)\` and the profiler's own start/stop; ` +
      "percentages are of the process's busy time. **self**: in the frame itself; **inclusive**: " +
      'samples with that group (or function) anywhere on the stack, counted once per sample.',
    '',
    ...table(
      ['process', 'pid', 'busy ms', 'GC', 'most self time'],
      sorted.map((entry) => [
        entry.name,
        String(entry.pid),
        fixed(entry.analysis.busyMs),
        percent(entry.analysis.garbageCollectorMs, entry.analysis.busyMs),
        entry.analysis.where
          .slice(0, 3)
          .map((row) => `${code(row.name)} ${percent(row.selfMs, entry.analysis.busyMs)}`)
          .join(', '),
      ]),
    ),
    '',
  ];
  for (const entry of sorted) {
    if (quiet(entry)) continue;
    const { analysis } = entry;
    const busy = analysis.busyMs;
    lines.push(
      `### ${entry.name} (pid ${entry.pid}): ${fixed(busy)} ms busy of ${fixed(analysis.sampledMs)} ms sampled`,
      '',
      `Flame graph: [${entry.svg}](${entry.svg})`,
      '',
      ...table(
        ['where (self time)', 'self ms', 'self', 'inclusive ms', 'inclusive'],
        analysis.where
          .slice(0, TOP_WHERE)
          .map((row) => [
            code(row.name),
            fixed(row.selfMs),
            percent(row.selfMs, busy),
            fixed(row.inclusiveMs),
            percent(row.inclusiveMs, busy),
          ]),
      ),
      '',
      `Most inclusive time: ${[...analysis.where]
        .sort((a, b) => b.inclusiveMs - a.inclusiveMs)
        .slice(0, TOP_INCLUSIVE_WHERE)
        .map((row) => `${code(row.name)} ${percent(row.inclusiveMs, busy)}`)
        .join(', ')}.`,
      '',
      ...table(
        ['function (self time)', 'where', 'self ms', 'self'],
        analysis.functions
          .slice(0, TOP_FUNCTIONS)
          .map((row) => [
            code(row.functionName),
            code(row.location || row.where),
            fixed(row.selfMs),
            percent(row.selfMs, busy),
          ]),
      ),
      '',
    );
    if (analysis.strataInclusive.length > 0) {
      lines.push(
        ...table(
          ['Strata function (inclusive time)', 'where', 'inclusive ms', 'inclusive'],
          analysis.strataInclusive
            .slice(0, TOP_STRATA_INCLUSIVE)
            .map((row) => [
              code(row.functionName),
              code(row.location),
              fixed(row.inclusiveMs),
              percent(row.inclusiveMs, busy),
            ]),
        ),
        '',
      );
    }
  }
  const quietOnes = sorted.filter(quiet);
  if (quietOnes.length > 0) {
    lines.push(
      `Nearly idle in this window (< ${QUIET_BUSY_MS} ms or < ${QUIET_SHARE_OF_BUSIEST * 100} % of the busiest): ` +
        quietOnes.map((entry) => `${entry.name} ${fixed(entry.analysis.busyMs)} ms`).join(', ') +
        '.',
      '',
    );
  }
  return lines.join('\n');
}

// ---- files ---------------------------------------------------------------------------------

const PROFILE_FILE = /^(.+)-(\d+)\.cpuprofile$/;

function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .sort();
}

/** Summarises one scenario folder: writes its SVGs and `summary.md`, returns the markdown. */
export function summariseScenario(dir: string, scenario: string, root: string = ROOT): string {
  const processes: ProcessProfile[] = [];
  for (const file of profilesIn(dir)) {
    const match = PROFILE_FILE.exec(file);
    const name = match?.[1] ?? file.replace(/\.cpuprofile$/, '');
    const pid = Number(match?.[2] ?? NaN);
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const analysis = analyseProfile(profile, root);
    const svg = file.replace(/\.cpuprofile$/, '.svg');
    writeFileSync(
      join(dir, svg),
      flameGraphSvg(profile, analysis, `${scenario} — ${name} (pid ${pid})`, root),
    );
    processes.push({ name, pid, file, analysis, svg });
  }
  const markdown = scenarioMarkdown(scenario, processes);
  writeFileSync(join(dir, 'summary.md'), markdown);
  return markdown;
}

/**
 * Summarises every scenario folder of `dir` (in `order` first, then by name) and writes
 * `<dir>/summary.md` with all of them; returns its path.
 */
export function summariseCpuProfiles(
  dir: string,
  options: { order?: readonly string[]; root?: string } = {},
): string {
  const root = options.root ?? ROOT;
  const folders = readdirSync(dir)
    .filter((entry) => !entry.startsWith('.') && statSync(join(dir, entry)).isDirectory())
    .filter((entry) => profilesIn(join(dir, entry)).length > 0);
  const order = options.order ?? [];
  folders.sort((a, b) => {
    const rank = (entry: string): number =>
      order.includes(entry) ? order.indexOf(entry) : order.length;
    return rank(a) - rank(b) || a.localeCompare(b);
  });
  const sections = folders.map((folder) => ({
    folder,
    markdown: summariseScenario(join(dir, folder), folder, root),
  }));
  if (profilesIn(dir).length > 0) {
    sections.push({ folder: '.', markdown: summariseScenario(dir, basename(dir), root) });
  }
  // Links in the combined file point into each scenario's folder.
  const combined = sections.map(({ folder, markdown }) =>
    folder === '.' ? markdown : markdown.replace(/\]\(([^)]+\.svg)\)/g, `](${folder}/$1)`),
  );
  const file = join(dir, 'summary.md');
  writeFileSync(
    file,
    [
      '# CPU profiles',
      '',
      'Written by `bench/src/cpu-profile-summary.ts`. Sampling adds overhead: throughput and CPU ' +
        "figures of a profiled run are not the benchmark's figures; the shares are what to read.",
      '',
      ...combined,
    ].join('\n'),
  );
  return file;
}

if (require.main === module) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: node --import tsx bench/src/cpu-profile-summary.ts <dir>\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(`${summariseCpuProfiles(resolve(dir))}\n`);
  }
}
