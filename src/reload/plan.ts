// What one reload runs with (its generation, settings and abort signal) and where it reports: shared by its steps.
import type { ClusterEvents } from '../events.js';
import type { ResolvedOptions } from '../options.js';

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
