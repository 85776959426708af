// The admin interface's JSON answers: their types (shared by server and client), units, and the pure builders of each.
import type { WorkerInfo } from '../cluster.js';
import type { ReadyThreshold } from './options.js';
import { type ReloadError, type SlotGeneration, describeFailedStart } from '../errors.js';
import type { ReloadResult } from '../events.js';
import type { ReloadStrategy } from '../options.js';
import type { WorkerCounts } from '../protocol.js';
import type { WorkerState } from '../supervisor/lifecycle.js';

/** Every answer: `error` is null on success, `result` is null when there is nothing to report. */
export interface Envelope<T> {
  readonly error: string | null;
  readonly result: T | null;
}

/** An uptime cut into whole days, hours, minutes and seconds. */
export interface Uptime {
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: number;
}

/** CPU and memory of one process, as measured. */
export interface ProcessUsage {
  /** Percent of one core, averaged since the previous measurement (or since the process started, the first time). */
  readonly cpu: number;
  /** Resident memory, in bytes. */
  readonly memory: number;
}

/** The primary process in `/info`. `cpu` is percent of one core, `mem` is MB (2^20 bytes); null when it could not be measured. */
export interface PrimaryStatus {
  readonly pid: number;
  readonly cpu: number | null;
  readonly mem: number | null;
  readonly uptime: Uptime;
  readonly uptimeSeconds: number;
}

/** One worker in `/info`, in the same units as the primary. */
export interface WorkerStatus {
  readonly slot: number;
  readonly pid: number | null;
  readonly generation: number;
  readonly state: WorkerState;
  /** True for the worker serving its slot; false for one starting or retiring beside it. */
  readonly active: boolean;
  readonly cpu: number | null;
  readonly mem: number | null;
  readonly uptime: Uptime;
  readonly uptimeSeconds: number;
  /** How many times its slot has been respawned. */
  readonly restarts: number;
  /** HTTP responses it has written since it started, and those with a 5xx status; null when its runtime did not say. */
  readonly responses: number | null;
  readonly errors: number | null;
  /** The TCP connections it holds open now (kept-alive ones included); null when its runtime did not say. */
  readonly connections: number | null;
}

/** The cluster as a whole in `/info`. */
export interface ClusterStatus {
  /** The generation serving now. */
  readonly generation: number;
  readonly slots: number;
  /** Slots with a ready worker. */
  readonly readySlots: number;
  /** The reload under way, if any: the generation it starts and for how many seconds it has run. */
  readonly reloading: { readonly generation: number; readonly seconds: number } | null;
}

/** `GET /info`. */
export interface InfoAnswer {
  readonly master: PrimaryStatus;
  readonly workers: readonly WorkerStatus[];
  /** Sums over the primary and every worker measured: CPU percent and MB. */
  readonly total: { readonly cpu: number; readonly mem: number };
  readonly cluster: ClusterStatus;
}

/** `POST /reload` that ended well. */
export interface ReloadSucceeded {
  readonly outcome: 'succeeded';
  readonly generation: number;
  readonly strategy: ReloadStrategy;
  readonly durationMs: number;
  readonly slots: readonly SlotGeneration[];
}

/** `POST /reload` that was aborted; the previous workers keep serving. */
export interface ReloadFailed {
  readonly outcome: 'failed';
  readonly generation: number;
  /** The slot whose new worker failed, and how, in words. */
  readonly slot: number;
  readonly reason: string;
  /** That worker's last lines on stderr. */
  readonly stderr: readonly string[];
  readonly slots: readonly SlotGeneration[];
}

export type ReloadAnswer = ReloadSucceeded | ReloadFailed;

/** `GET /readyz`. */
export interface ReadyAnswer {
  readonly ready: boolean;
  readonly slots: number;
  readonly readySlots: number;
  /** Slots that need a ready worker (the admin interface's `readyThreshold`; every slot by default). */
  readonly required: number;
  /** Ready workers that can take new connections now (see `WorkerInfo.accepting`). */
  readonly accepting: number;
  /** The cluster is shutting down (through `shutdownDelay` too): not ready, whatever the workers. */
  readonly stopping: boolean;
}

/** Whole days, hours, minutes and seconds of a number of seconds. */
export function splitUptime(totalSeconds: number): Uptime {
  let rest = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3_600);
  rest -= hours * 3_600;
  const minutes = Math.floor(rest / 60);
  return { days, hours, minutes, seconds: rest - minutes * 60 };
}

/** Bytes as MB (2^20 bytes, as `ps` and qilin-daemon count them), to one decimal. */
export function megabytes(bytes: number): number {
  return Math.round((bytes / 1_048_576) * 10) / 10;
}

/** A percentage to one decimal. */
export function percent(value: number): number {
  return Math.round(value * 10) / 10;
}

/** What `/info` is built from: a snapshot of the cluster and the measurements taken for it. */
export interface InfoInput {
  readonly now: number;
  readonly primary: { readonly pid: number; readonly uptimeSeconds: number };
  readonly workers: readonly WorkerInfo[];
  readonly usage: ReadonlyMap<number, ProcessUsage>;
  /** Each worker's response counts and open connections, by pid (missing: unknown). */
  readonly responses?: ReadonlyMap<number, WorkerCounts>;
  readonly generation: number;
  /** The ready worker (or null) of each slot, indexed by slot. */
  readonly active: readonly unknown[];
  readonly reloading: { readonly generation: number; readonly startedAt: number } | null;
}

/** Builds the `/info` answer: workers ordered by slot, then generation. */
export function buildInfo(input: InfoInput): InfoAnswer {
  const measured = (pid: number | undefined): { cpu: number | null; mem: number | null } => {
    const usage = pid === undefined ? undefined : input.usage.get(pid);
    return usage ? { cpu: percent(usage.cpu), mem: megabytes(usage.memory) } : { cpu: null, mem: null };
  };
  const counted = (pid: number | undefined): { responses: number | null; errors: number | null; connections: number | null } => {
    const counts = pid === undefined ? undefined : input.responses?.get(pid);
    return counts
      ? { responses: counts.responses, errors: counts.errors, connections: counts.connections ?? null }
      : { responses: null, errors: null, connections: null };
  };
  const primaryUptime = Math.floor(input.primary.uptimeSeconds);
  const master: PrimaryStatus = {
    pid: input.primary.pid,
    ...measured(input.primary.pid),
    uptime: splitUptime(primaryUptime),
    uptimeSeconds: primaryUptime,
  };
  const workers = [...input.workers]
    .sort((a, b) => a.slot - b.slot || a.generation - b.generation || a.id - b.id)
    .map((w): WorkerStatus => {
      const uptimeSeconds = Math.max(0, Math.floor((input.now - w.startedAt) / 1000));
      return {
        slot: w.slot,
        pid: w.pid ?? null,
        generation: w.generation,
        state: w.state,
        active: w.active,
        ...measured(w.pid),
        uptime: splitUptime(uptimeSeconds),
        uptimeSeconds,
        restarts: w.restarts,
        ...counted(w.pid),
      };
    });
  let cpu = 0;
  let memory = 0;
  for (const usage of input.usage.values()) {
    cpu += usage.cpu;
    memory += usage.memory;
  }
  const readySlots = input.active.filter((worker) => worker !== null).length;
  return {
    master,
    workers,
    total: { cpu: percent(cpu), mem: megabytes(memory) },
    cluster: {
      generation: input.generation,
      slots: input.active.length,
      readySlots,
      reloading: input.reloading && {
        generation: input.reloading.generation,
        seconds: Math.max(0, Math.floor((input.now - input.reloading.startedAt) / 1000)),
      },
    },
  };
}

/** The worker serving each of `slots` slots (`active` in `describe()`, replacing ones included), or null. */
export function servingOf(workers: readonly WorkerInfo[], slots: number): (WorkerInfo | null)[] {
  return Array.from({ length: slots }, (_, slot) => workers.find((info) => info.active && info.slot === slot) ?? null);
}

/** What besides the workers decides `/readyz`: how many slots it needs ready, and whether the cluster is going. */
export interface ReadyInput {
  readonly threshold: ReadyThreshold;
  readonly stopping: boolean;
}

/**
 * `/readyz`: ready when the cluster is not shutting down, there is at least one slot, at least `threshold`
 * slots (every one, by default) have a ready worker, and at least one of those can take a new connection.
 * `active` is the serving worker of each slot, or null.
 */
export function buildReady(
  active: readonly (Pick<WorkerInfo, 'accepting'> | null)[],
  input: ReadyInput = { threshold: { share: 1 }, stopping: false },
): ReadyAnswer {
  const serving = active.filter((worker) => worker !== null);
  const accepting = serving.filter((worker) => worker.accepting).length;
  const readySlots = serving.length;
  const slots = active.length;
  const { threshold } = input;
  const required = Math.min(slots, Math.max(1, 'count' in threshold ? threshold.count : Math.ceil(slots * threshold.share)));
  const ready = !input.stopping && slots > 0 && readySlots >= required && accepting > 0;
  return { ready, slots, readySlots, required, accepting, stopping: input.stopping };
}

/** Why `/readyz` says not ready, in words. */
export function notReadyReason(ready: ReadyAnswer): string {
  if (ready.stopping) return 'The cluster is shutting down';
  if (ready.slots === 0 || ready.readySlots < ready.required) {
    return ready.required === ready.slots
      ? `Not every slot has a ready worker (${ready.readySlots} of ${ready.slots} ready)`
      : `Fewer slots have a ready worker than the ${ready.required} required (${ready.readySlots} of ${ready.slots} ready)`;
  }
  return 'No worker can take a new connection now (no heartbeat on time, or out of file descriptors)';
}

export function reloadSucceeded(result: ReloadResult): ReloadSucceeded {
  return { outcome: 'succeeded', ...result };
}

export function reloadFailed(error: ReloadError): ReloadFailed {
  return {
    outcome: 'failed',
    generation: error.generation,
    slot: error.start.slot,
    reason: describeFailedStart(error.start),
    stderr: error.start.stderr,
    slots: error.slots,
  };
}
