// Forks one worker with this cluster's own settings, leaving node:cluster's process-wide settings as they were; and node:cluster's one scheduling policy.
import cluster, { type ClusterSettings, type Worker } from 'node:cluster';
import type { Balance } from '../options.js';

export interface ForkSpec {
  readonly exec: string;
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string | undefined;
  readonly silent: boolean;
  readonly serialization: 'json' | 'advanced';
}

const POLICY_OF: Readonly<Record<Balance, number>> = {
  kernel: cluster.SCHED_NONE,
  reuseport: cluster.SCHED_NONE,
  'round-robin': cluster.SCHED_RR,
  sticky: cluster.SCHED_RR,
};

/** Shared by every copy of this module in the process (the ESM and CommonJS builds may both be loaded). */
const FROZEN = Symbol.for('qilin.cluster.schedulingPolicy');
type Holder = { [FROZEN]?: number };

/**
 * node:cluster has one scheduling policy per process, read at its first fork (or first `setupPrimary()`) and
 * fixed from then on. Sets it to `wanted` if nothing has forked yet, and returns the balance in force, which
 * differs from `wanted` when something else (another cluster, the app itself) forked first.
 */
export function applyBalance(wanted: Balance): Balance {
  const holder = globalThis as Holder;
  if (holder[FROZEN] === undefined) {
    // Settings are filled in by node:cluster's first setupPrimary(); empty, and no worker yet: not frozen.
    const untouched = Object.keys(cluster.settings).length === 0 && Object.keys(cluster.workers ?? {}).length === 0;
    if (untouched) cluster.schedulingPolicy = POLICY_OF[wanted];
    holder[FROZEN] = cluster.schedulingPolicy;
  }
  return holder[FROZEN] === cluster.SCHED_NONE ? 'kernel' : 'round-robin';
}

/**
 * `cluster.setupPrimary()` settings are process-wide and apply to every later fork, so several clusters (or
 * the app's own use of node:cluster) in one primary would fork each other's scripts. Settings are applied
 * just before the fork and put back right after; fork reads them synchronously, so nothing runs in between.
 *
 * stderr is always piped so the primary can keep each worker's last lines for failure reports; unless
 * `silent`, the cluster copies it on to the primary's stderr. stdin and stdout are inherited as usual.
 */
export function forkWorker(spec: ForkSpec): Worker {
  const saved = cluster.settings;
  const settings: ClusterSettings = {
    exec: spec.exec,
    args: [...spec.args],
    execArgv: [...spec.execArgv],
    silent: spec.silent,
    stdio: spec.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'pipe', 'ipc'],
    serialization: spec.serialization,
  };
  if (spec.cwd !== undefined) settings.cwd = spec.cwd;
  cluster.setupPrimary(settings);
  if (spec.cwd === undefined) delete (cluster.settings as { cwd?: string }).cwd;
  try {
    return cluster.fork(spec.env);
  } finally {
    (cluster as { settings: ClusterSettings }).settings = saved;
  }
}
