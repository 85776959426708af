// The snapshot of one worker that `describe()`, the admin interface and the status table show.
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
  /** True for the worker serving its slot (the one in `activeWorkers()`). */
  readonly active: boolean;
  readonly startedAt: number;
  readonly readyAt: number | null;
  /** Resident memory from the worker's last heartbeat, in bytes, or null without the runtime. */
  readonly rss: number | null;
  /** How many times this worker's slot has been respawned. */
  readonly restarts: number;
  /**
   * It can take new connections: it is not out of file descriptors and, with round-robin, no connection handed
   * to it has gone unreceived for a second. (Known only with the runtime; true without it.)
   */
  readonly accepting: boolean;
}

/** A snapshot of each of `handles`; `slot(index)` gives the slot a worker belongs to, `now` is the monotonic clock. */
export function describeWorkers(handles: readonly WorkerHandle[], slot: (index: number) => Slot | undefined, now: number): WorkerInfo[] {
  return handles.map((h) => {
    const own = slot(h.slot);
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
      accepting: h.outOfDescriptors === null && !(h.handoffs?.stuck(STUCK_HANDOFF, now) ?? false),
    };
  });
}
