// Forks one worker with this cluster's own settings, leaving node:cluster's process-wide settings as they were.
import cluster, { type ClusterSettings, type Worker } from 'node:cluster';

export interface ForkSpec {
  readonly exec: string;
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string | undefined;
  readonly silent: boolean;
  readonly serialization: 'json' | 'advanced';
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
