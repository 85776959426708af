// The snapshot of one worker that `describe()`, the admin interface and the status table show, and the response counts they ask the workers for.
import type { WorkerCounts } from '../protocol.js';
import type { WorkerState } from './lifecycle.js';
import type { Slot } from './slot.js';
import { STUCK_HANDOFF } from './timing.js';
import type { WorkerHandle } from './worker-handle.js';

/** A snapshot of one worker, for status pages and the admin interface. */
export interface WorkerInfo {
  readonly slot: number;
  /** node:cluster's worker id. */
  readonly id: number;
  readonly pid: number | undefined;
  readonly generation: number;
  readonly state: WorkerState;
  /** True for the worker serving its slot (`ready`, or `replacing` until its replacement takes over). */
  readonly active: boolean;
  readonly startedAt: number;
  readonly readyAt: number | null;
  /** Resident memory from the worker's last heartbeat, in bytes, or null without the runtime. */
  readonly rss: number | null;
  /** How many times this worker's slot has been respawned. */
  readonly restarts: number;
  /**
   * It can take new connections: its heartbeats come on time (none is late by more than half an interval, at
   * least 1 s), it is not out of file descriptors, and, with round-robin, no connection handed to it has gone
   * unreceived for a second. Known only with the runtime; true without it.
   */
  readonly accepting: boolean;
}

/** A heartbeat this late means the worker is not answering now: half an interval, at least 1 s. */
export function heartbeatOverdue(interval: number): number {
  return interval + Math.max(1_000, interval / 2);
}

/**
 * A snapshot of each of `handles`; `slot(index)` gives the slot a worker belongs to, `now` is the monotonic
 * clock, `interval` the heartbeat interval (0 when there are none).
 */
export function describeWorkers(handles: readonly WorkerHandle[], slot: (index: number) => Slot | undefined, now: number, interval: number): WorkerInfo[] {
  return handles.map((h) => {
    const own = slot(h.slot);
    const answering = !h.hasRuntime || interval === 0 || now - h.lastHeartbeat <= heartbeatOverdue(interval);
    return {
      slot: h.slot,
      id: h.worker.id,
      pid: h.pid,
      generation: h.generation,
      state: h.state,
      active: own?.active === h,
      startedAt: h.forkedAt,
      readyAt: h.readyAt,
      rss: h.rss,
      restarts: own?.restarts ?? 0,
      accepting: answering && h.outOfDescriptors === null && !(h.deliveries?.stuck(STUCK_HANDOFF, now) ?? false),
    };
  });
}

/** Each of `handles`' HTTP responses so far, all and 5xx, and its open connections, by pid; a worker that does not answer within `withinMs` is left out. */
export async function countResponses(handles: Iterable<WorkerHandle>, withinMs: number): Promise<Map<number, WorkerCounts>> {
  const answers = await Promise.all([...handles].map(async (handle) => [handle.pid, await handle.countResponses(withinMs)] as const));
  const counts = new Map<number, WorkerCounts>();
  for (const [pid, answer] of answers) if (pid !== undefined && answer) counts.set(pid, answer);
  return counts;
}
