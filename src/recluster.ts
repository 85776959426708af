// The factory users call: `recluster(file, options)`, as in recluster 1.0.0.
import { assembleCluster, resolveClusterOptions } from './assemble.js';
import type { Cluster } from './cluster.js';
import { type ClusterOptions, resolveFile } from './options.js';

/**
 * Creates a cluster that runs `file` in `options.workers` worker processes. Options are validated here,
 * before anything forks; a wrong one throws an InvalidOptionError naming it. Call `run()` to start.
 * With `watch`, a file watcher is attached: it starts with `run()` and stops with the cluster.
 * With `options.admin`, the admin interface is attached: it listens from `run()` until the cluster stops. Its
 * code is loaded then, so a primary without it does not carry it.
 */
export function recluster(file: string, options?: ClusterOptions): Cluster {
  return assembleCluster(resolveFile(file), resolveClusterOptions(options));
}
