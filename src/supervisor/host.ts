// What the supervisor needs from outside: the cluster that owns it, and the process I/O (fork, clock, stderr), injected so transitions can be tested without processes.
import type { Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ClusterEvents } from '../events.js';
import type { Balance, ResolvedOptions } from '../options.js';
import { type ForkSpec, forkWorker } from './fork.js';
import type { SocketTable } from '../sockets/table.js';
import { copyToStderr } from './output.js';

/** The process I/O the supervisor does. */
export interface SupervisorIO {
  /** Forks a worker process (node:cluster's fork with these settings). */
  fork(spec: ForkSpec): Worker;
  /** The monotonic clock, in ms. */
  now(): number;
  /** Copies a chunk of a worker's stderr to the primary's. */
  copyStderr(chunk: Buffer, from: Readable): void;
  /** A process's resident memory in bytes, read by the primary itself, or null where it cannot be read. */
  residentMemory(pid: number): number | null;
  /** The listening sockets the primary owns (the process's own table when not given). */
  readonly sockets?: SocketTable;
}

/** Resident memory from /proc (Linux); null elsewhere, or once the process is gone. */
function residentMemory(pid: number): number | null {
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

export const PROCESS_IO: SupervisorIO = {
  fork: forkWorker,
  now: () => performance.now(),
  copyStderr: copyToStderr,
  residentMemory,
};

/** What the supervisor needs from the cluster that owns it. */
export interface SupervisorHost {
  readonly file: string;
  readonly options: ResolvedOptions;
  /** True between `run()` and a stop or shutdown: respawns and replacements happen only then. */
  readonly running: boolean;
  /** False once the cluster was stopped: worker events are no longer passed on. */
  readonly emitting: boolean;
  /** How connections reach the workers, as in force once the cluster runs. */
  readonly balance: Balance;
  emit<E extends keyof ClusterEvents>(event: E, ...args: ClusterEvents[E]): void;
  log(category: keyof ResolvedOptions['log'], line: string): void;
  /** The process I/O; the real one when not given. */
  readonly io?: SupervisorIO;
}
