// One reload: the order of its batches and what is reported; the supervisor starts each batch and lets it take over.
import { type FailedStart, ReloadError } from '../errors.js';
import type { ReloadResult } from '../events.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { reloadBatches } from './batches.js';
import { runCanary } from './canary-step.js';
import type { ReloadPlan, ReloadReporter } from './plan.js';

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
  // A reload that does not succeed (a worker failed, a canary failed, the cluster is stopping) takes away the slots it added.
  const dropAdded = (): void => {
    if (supervisor.slotCount > before) void supervisor.scaleTo(before).catch(() => {});
  };
  const fail = (failed: FailedStart): never => {
    dropAdded();
    const failure = new ReloadError(generation, failed, supervisor.slotGenerations());
    reporter.log('reloads', failure.message);
    reporter.emit('reloadFailed', failure);
    throw failure;
  };
  const steps: (() => Promise<FailedStart | null>)[] = reloadBatches(indexes, strategy, options.batch).map(
    (batch) => () => supervisor.rollout(batch, generation, signal, options),
  );
  // With `canary`, a worker of the new generation first serves in a slot of its own, above every other, before any
  // previous worker is replaced; it retires once the reload is done (or at once, with the reload, if it fails).
  if (options.canary !== null && before > 0) {
    const canarySlot = Math.max(before, count);
    supervisor.addSlots(canarySlot + 1);
    const slot = supervisor.slot(canarySlot);
    if (slot) slot.canary = true;
    steps.unshift(() => runCanary(supervisor, reporter, plan, canarySlot));
  }
  for (const step of steps) {
    const failed = await step().catch((error: unknown) => {
      dropAdded();
      throw error;
    });
    if (failed) fail(failed);
  }
  supervisor.commit(generation, options);
  if (supervisor.slotCount > count) void supervisor.scaleTo(count).catch(() => {});
  const result: ReloadResult = { generation, strategy, durationMs: Date.now() - startedAt, slots: supervisor.slotGenerations() };
  reporter.emit('reloadEnd', result);
  return result;
}
