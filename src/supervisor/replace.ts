// Replacing a serving worker: its replacement starts now (or after the slot's backoff) and it retires once that one is ready; a crashed or disconnected one leaves at once.
import type { ReplaceReason } from '../events.js';
import { healthyAfter } from './backoff.js';
import type { SupervisorCore } from './core.js';
import { crashDeadline } from './timing.js';
import { replacementNotice } from './worker-events.js';
import type { WorkerHandle } from './worker-handle.js';

/** What replacing needs of the supervisor beyond its core. */
export interface ReplaceHost extends SupervisorCore {
  readonly slotCount: number;
  /** A worker that stopped accepting by itself drains itself; SIGTERM after `termAfter` ms. */
  leave(handle: WorkerHandle, termAfter: number): void;
  /** Its heartbeat is overdue. */
  silent(handle: WorkerHandle): boolean;
}

export function replaceWorker(supervisor: ReplaceHost, handle: WorkerHandle, reason: ReplaceReason): void {
  const { host, io } = supervisor;
  const slot = supervisor.slot(handle.slot);
  if (!host.running || handle.state !== 'ready' || !slot || slot.active !== handle) return;
  handle.apply('replace');
  handle.replacing = reason;
  handle.replaceAskedAt = io.now();
  host.emit('replace', handle.worker, reason);
  const why = replacementNotice(supervisor, handle, reason);
  if (reason === 'crashed' || reason === 'disconnected') {
    slot.active = null;
    const { timeout } = handle.options;
    supervisor.leave(handle, reason === 'disconnected' ? timeout : crashDeadline(timeout));
    supervisor.reconcile(slot, { kind: 'lost', previous: handle, why, immediate: true });
    return;
  }
  if (reason === 'unresponsive' && answeringElsewhere(supervisor, handle)) {
    // Stop handing it connections it cannot serve, as long as a worker that answers can take them. If every
    // worker is silent at once, none is cut off: the port would have no listener at all.
    handle.disconnect();
  }
  // A worker over maxMemory before it was even healthy is likely to be followed by another: replacements of
  // such workers wait the slot's backoff delay (the old worker serves meanwhile) instead of looping at once.
  const healthy = handle.readyAt !== null && Date.now() - handle.readyAt >= healthyAfter(supervisor.options);
  supervisor.reconcile(slot, { kind: 'replace', why, backoff: reason === 'memory' && !healthy });
}

/** Another slot's worker is ready and its heartbeats come. */
function answeringElsewhere(supervisor: ReplaceHost, handle: WorkerHandle): boolean {
  for (let index = 0; index < supervisor.slotCount; index += 1) {
    const active = supervisor.slot(index)?.active;
    if (active && index !== handle.slot && active.state === 'ready' && !supervisor.silent(active)) return true;
  }
  return false;
}
