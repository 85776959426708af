// A reload's batch of new workers, held: they take their slots together once every one is ready; at the first failure the batch is undone and every slot keeps a worker of the generation serving.
import { type FailedStart, QilinError, type StartFailure } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { BatchFailure, BatchStart } from './batch.js';
import type { Cause } from './core.js';
import type { RetireReason } from '../protocol.js';
import type { Slot } from './slot.js';
import type { WorkerHandle } from './worker-handle.js';

/** What a rollout needs of the supervisor. */
export interface RolloutHost {
  readonly slotCount: number;
  slot(index: number): Slot | undefined;
  /** Forks a worker for `slot` as its next one; null if the fork itself failed. */
  spawn(slot: Slot, generation: number, batch: WorkerHandle['batch'], options: ResolvedOptions): WorkerHandle | null;
  retire(handle: WorkerHandle, reason: RetireReason, graceful: boolean): void;
  reconcile(slot: Slot, cause: Cause): void;
  /** A ready worker takes its slot; the one it replaces retires. */
  takeSlot(handle: WorkerHandle): void;
  failedStart(handle: WorkerHandle, failure: StartFailure): FailedStart;
}

/**
 * Starts generation `generation` in the slots `indexes`, held: they take their slots only once every one of
 * them is ready, and the workers they replace then retire. Resolves with null then, or with the first worker
 * that failed (the batch's new workers are stopped, every slot keeps or gets a worker of the generation
 * serving, and replacements the batch superseded are started again). Rejects with the reason if `signal` aborts.
 */
export async function rollout(
  host: RolloutHost,
  indexes: readonly number[],
  generation: number,
  signal: AbortSignal,
  options: ResolvedOptions,
): Promise<FailedStart | null> {
  const waiter = new BatchStart<WorkerHandle>();
  const cancel = (): void => waiter.cancel(signal.reason);
  signal.addEventListener('abort', cancel, { once: true });
  for (const index of indexes) {
    const slot = host.slot(index);
    if (!slot) continue;
    slot.cancelRespawn();
    // A respawn or replacement still starting runs the code being replaced: the reload supersedes it.
    if (slot.next) host.retire(slot.next, 'reload', false);
    if (!host.spawn(slot, generation, { waiter, holds: true }, options))
      waiter.cancel(new QilinError('ERR_QILIN_RELOAD_FAILED', `Could not fork a worker for slot ${index}`));
  }
  waiter.seal();
  if (signal.aborted) cancel();
  try {
    await waiter.promise;
  } catch (error) {
    for (const handle of waiter.handles) host.retire(handle, 'reload', handle.state === 'held');
    for (let index = 0; index < host.slotCount; index += 1) {
      const slot = host.slot(index);
      if (slot) host.reconcile(slot, { kind: 'restore' });
    }
    if (error instanceof BatchFailure) return host.failedStart(error.handle as WorkerHandle, error.failure);
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  for (const handle of waiter.handles) host.takeSlot(handle);
  return null;
}
