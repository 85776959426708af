// One reload: the order of its batches and what is reported; the supervisor starts each batch and lets it take over.
import { ReloadError } from '../errors.js';
import type { ClusterEvents, ReloadResult } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { reloadBatches } from './batches.js';

export interface ReloadPlan {
  readonly generation: number;
  /** The new generation's settings: its workers get them, and the cluster keeps them once the reload succeeds. */
  readonly options: ResolvedOptions;
  /** How many slots the new generation has; the slots above it retire once it serves (null: as many as now). */
  readonly workers: number | null;
  /** Aborted when the cluster shuts down: the batch under way is dropped and the reload rejects with the reason. */
  readonly signal: AbortSignal;
}

/** Where a reload reports. */
export interface ReloadReporter {
  emit<E extends keyof ClusterEvents>(event: E, ...args: ClusterEvents[E]): void;
  log(category: keyof ResolvedOptions['log'], line: string): void;
}

/**
 * With `'all'` there is one batch of every slot, so the old generation retires only once the whole new one
 * is ready, and a failure leaves every old worker serving. With `'rolling'`, slots already replaced keep the
 * new generation and the rest keep the old one. Either way a failure stops the new workers of the failed
 * batch, refills any slot left empty (and restarts replacements it superseded), and rejects with a ReloadError saying who runs what.
 */
export async function runReload(supervisor: Supervisor, reporter: ReloadReporter, plan: ReloadPlan): Promise<ReloadResult> {
  const { generation, options, signal } = plan;
  const { strategy } = options;
  const startedAt = Date.now();
  // More workers: the new slots start with the reload's batches. Fewer: the slots above the new count keep
  // serving through the reload and retire once it has succeeded, so the cluster never has less than either.
  const before = supervisor.slotCount;
  const count = plan.workers ?? before;
  supervisor.addSlots(count);
  const indexes = Array.from({ length: count }, (_, index) => index);
  reporter.emit('reloadStart', { generation, strategy, slots: indexes.length });
  for (const batch of reloadBatches(indexes, strategy, options.batch)) {
    // A reload that does not succeed (a worker failed, the cluster is stopping) takes away the slots it added.
    const dropAdded = (): void => {
      if (supervisor.slotCount > before) void supervisor.scaleTo(before).catch(() => {});
    };
    const failed = await supervisor.rollout(batch, generation, signal, options).catch((error: unknown) => {
      dropAdded();
      throw error;
    });
    if (failed) {
      dropAdded();
      const failure = new ReloadError(generation, failed, supervisor.slotGenerations());
      reporter.log('reloads', failure.message);
      reporter.emit('reloadFailed', failure);
      throw failure;
    }
  }
  supervisor.commit(generation, options);
  if (count < before) void supervisor.scaleTo(count).catch(() => {});
  const result: ReloadResult = { generation, strategy, durationMs: Date.now() - startedAt, slots: supervisor.slotGenerations() };
  reporter.emit('reloadEnd', result);
  return result;
}
