// CPU time and memory of processes, read from /proc (Linux only; elsewhere every figure is empty).
// CPU is utime + stime in clock ticks: 100 per second on every Linux this runs on (USER_HZ).
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  readonly pid: number;
  readonly parent: number;
  readonly command: string;
  readonly cpuSeconds: number;
}

function readStat(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const command = stat.slice(stat.indexOf('(') + 1, close);
    // After ") ": state, ppid, … utime is field 14 and stime field 15 of the whole line.
    const fields = stat.slice(close + 2).split(' ');
    return {
      pid,
      parent: Number(fields[1]),
      command,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined; // ended meanwhile
  }
}

/** Every process on the machine, by pid. */
export function allProcesses(): Map<number, ProcessSample> {
  const result = new Map<number, ProcessSample>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return result;
  }
  for (const entry of entries) {
    const sample = readStat(Number(entry));
    if (sample) result.set(sample.pid, sample);
  }
  return result;
}

/** `roots` and all their descendants, from one snapshot. */
export function withDescendants(
  roots: readonly number[],
  processes: Map<number, ProcessSample>,
): Set<number> {
  const children = new Map<number, number[]>();
  for (const sample of processes.values()) {
    const list = children.get(sample.parent) ?? [];
    list.push(sample.pid);
    children.set(sample.parent, list);
  }
  const found = new Set<number>();
  const queue = roots.filter((pid) => processes.has(pid));
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (found.has(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** VmRSS and VmHWM (peak resident set) in MiB, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rssMiB: number; peakRssMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: round(kib('VmRSS') / 1024), peakRssMiB: round(kib('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/** The machine as the results describe it: CPU model and count, memory, kernel, load. */
export function machineDescription(): {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  os: string;
} {
  let cpuModel = 'unknown';
  let cpus = 0;
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpuModel;
    cpus = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  } catch {
    // not Linux
  }
  let memoryGiB = NaN;
  try {
    const kib = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    memoryGiB = round(kib / 1024 / 1024);
  } catch {
    // not Linux
  }
  let os = `${process.platform}`;
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(release)?.[1];
    const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    os = `${pretty ?? 'Linux'}, kernel ${kernel}`;
  } catch {
    // not Linux
  }
  return { cpuModel, cpus, memoryGiB, os };
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
