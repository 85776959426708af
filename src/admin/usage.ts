// CPU and memory of the primary and its workers, read with pidusage, with CPU percentages taken between one measurement and the next.
import type pidusage from 'pidusage';
import type { ProcessUsage } from './answers.js';

let loaded: Promise<typeof pidusage> | null = null;

/** pidusage, loaded on the first measurement: a primary without the admin interface never loads it. */
function loadPidusage(): Promise<typeof pidusage> {
  loaded ??= import('pidusage').then((module) => module.default);
  return loaded;
}

/** One reading of a process: CPU time used and wall time lived, in milliseconds, and resident memory in bytes. */
export interface Reading {
  readonly ctime: number;
  readonly elapsed: number;
  readonly timestamp: number;
  readonly memory: number;
}

/**
 * Percent of one core used since `previous` was read, or over the whole life of the process when there is
 * no usable previous reading (the first time, or the pid now belongs to another process).
 */
export function cpuPercent(previous: Reading | undefined, now: Reading): number {
  const wall = previous ? now.timestamp - previous.timestamp : 0;
  const used = previous ? now.ctime - previous.ctime : 0;
  if (previous && wall > 0 && used >= 0 && now.elapsed >= previous.elapsed) return (used / wall) * 100;
  return now.elapsed > 0 ? (now.ctime / now.elapsed) * 100 : 0;
}

/** Reads processes and remembers the last reading of each, so CPU is an average since the last look. */
export class UsageSampler {
  #last = new Map<number, Reading>();

  /** Measures `pids`; a process that cannot be read (it has just exited) is left out. */
  async sample(pids: readonly number[]): Promise<Map<number, ProcessUsage>> {
    const unique = [...new Set(pids)];
    let stats: Record<string, pidusage.Status | undefined> = {};
    try {
      // With several pids, pidusage leaves out those it cannot read instead of failing them all.
      stats = unique.length === 0 ? {} : await (await loadPidusage())(unique);
    } catch {
      stats = {};
    }
    const out = new Map<number, ProcessUsage>();
    const readings = new Map<number, Reading>();
    for (const pid of unique) {
      const stat = stats[pid];
      if (!stat) continue;
      const reading: Reading = { ctime: stat.ctime, elapsed: stat.elapsed, timestamp: stat.timestamp, memory: stat.memory };
      out.set(pid, { cpu: cpuPercent(this.#last.get(pid), reading), memory: reading.memory });
      readings.set(pid, reading);
    }
    // Only the processes asked about now are remembered, so exited workers are forgotten.
    this.#last = readings;
    return out;
  }
}
