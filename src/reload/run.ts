// One reload: start the new generation a batch at a time, let each batch take over once all its workers are ready, stop at the first failure.
import { QilinError, ReloadError } from '../errors.js';
import type { ReloadResult } from '../events.js';
import type { ReloadStrategy } from '../options.js';
import type { Supervisor, SupervisorHost } from '../supervisor.js';
import { BatchFailure, BatchStart } from './batch-start.js';
import { reloadBatches } from './batches.js';

export interface ReloadPlan {
  readonly generation: number;
  readonly strategy: ReloadStrategy;
  readonly batch: number;
  /** Aborted when the cluster shuts down: the batch under way is dropped and the reload rejects with the reason. */
  readonly signal: AbortSignal;
}

/**
 * With `'all'` there is one batch of every slot, so the old generation retires only once the whole new one
 * is ready, and a failure leaves every old worker serving. With `'rolling'`, slots already replaced keep the
 * new generation and the rest keep the old one. Either way a failure stops the new workers of the failed
 * batch, refills any slot left empty (and restarts replacements it superseded), and rejects with a ReloadError saying who runs what.
 */
export async function runReload(supervisor: Supervisor, host: Pick<SupervisorHost, 'emit' | 'log'>, plan: ReloadPlan): Promise<ReloadResult> {
  const { generation, strategy, signal } = plan;
  const startedAt = Date.now();
  const indexes = supervisor.slots.map((slot) => slot.index);
  host.emit('reloadStart', { generation, strategy, slots: indexes.length });
  for (const batchSlots of reloadBatches(indexes, strategy, plan.batch)) {
    const waiter = new BatchStart();
    const cancel = (): void => waiter.cancel(signal.reason);
    signal.addEventListener('abort', cancel, { once: true });
    for (const index of batchSlots) {
      const slot = supervisor.slots[index];
      if (!slot) continue;
      supervisor.clearRespawn(slot);
      // A respawn or replacement still starting runs the code being replaced: the reload supersedes it.
      if (slot.next) supervisor.retire(slot.next, 'reload', false);
      const handle = supervisor.spawn(slot, generation, waiter);
      if (handle) waiter.add(handle);
      else waiter.cancel(new QilinError('ERR_QILIN_RELOAD_FAILED', `Could not fork a worker for slot ${index}`));
    }
    waiter.seal();
    if (signal.aborted) cancel();
    try {
      await waiter.promise;
    } catch (error) {
      for (const handle of waiter.handles) supervisor.retire(handle, 'reload', handle.state === 'ready');
      supervisor.restoreSlots();
      if (!(error instanceof BatchFailure)) throw error;
      const failure = new ReloadError(generation, supervisor.failedStart(error.handle, error.failure), supervisor.slotGenerations());
      host.log('reloads', failure.message);
      host.emit('reloadFailed', failure);
      throw failure;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
    for (const handle of waiter.handles) supervisor.promote(handle);
  }
  supervisor.serving = generation;
  const result: ReloadResult = { generation, strategy, durationMs: Date.now() - startedAt, slots: supervisor.slotGenerations() };
  host.emit('reloadEnd', result);
  return result;
}
