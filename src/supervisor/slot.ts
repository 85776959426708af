// One worker slot (`WORKER_ID`): the worker serving it, the one starting to take it over, and its respawn timer and backoff.
import { SlotBackoff, type BackoffPolicy } from './backoff.js';
import type { WorkerHandle } from './worker-handle.js';

export class Slot {
  readonly index: number;
  /** The ready worker serving this slot. */
  active: WorkerHandle | null = null;
  /** A starting worker that will take the slot over once ready (a respawn, a replacement, a reload's). */
  next: WorkerHandle | null = null;
  readonly backoff: SlotBackoff;
  /** How many times this slot has been respawned. */
  restarts = 0;
  /** Scaled away: it gets no worker again. */
  removed = false;
  /** Holds a reload's canary: a worker that leaves it is not replaced; the reload removes the slot when it ends. */
  canary = false;
  #respawn: NodeJS.Timeout | null = null;

  constructor(index: number, policy: BackoffPolicy) {
    this.index = index;
    this.backoff = new SlotBackoff(policy);
  }

  /** True while a new worker for this slot waits for its delay. */
  get respawnPending(): boolean {
    return this.#respawn !== null;
  }

  /** Runs `spawn` after `delay` ms (once; a pending one is replaced). */
  scheduleRespawn(delay: number, spawn: () => void): void {
    this.cancelRespawn();
    this.#respawn = setTimeout(() => {
      this.#respawn = null;
      spawn();
    }, delay);
  }

  cancelRespawn(): void {
    if (this.#respawn) clearTimeout(this.#respawn);
    this.#respawn = null;
  }

  /** Forgets `handle` if it is this slot's active or next worker. */
  release(handle: WorkerHandle): void {
    if (this.active === handle) this.active = null;
    if (this.next === handle) this.next = null;
  }
}

/** Marks `slot` removed and retires its workers (gracefully if they serve or are about to); resolves when they have exited. */
export function retireSlot(slot: Slot, retire: (handle: WorkerHandle, graceful: boolean) => void): Promise<void> {
  slot.removed = true;
  slot.cancelRespawn();
  const exits: Promise<void>[] = [];
  for (const handle of [slot.active, slot.next]) {
    if (!handle) continue;
    exits.push(handle.exited);
    retire(handle, handle.state === 'ready' || handle.state === 'replacing' || handle.state === 'held');
  }
  return Promise.all(exits).then(() => {});
}
