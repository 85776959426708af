// The factory users call: `recluster(file, options)`, as in recluster 1.0.0.
import { Cluster } from './cluster.js';
import { type ClusterOptions, resolveFile, resolveOptions } from './options.js';

/**
 * Creates a cluster that runs `file` in `options.workers` worker processes. Options are validated here,
 * before anything forks; a wrong one throws an InvalidOptionError naming it. Call `run()` to start.
 */
export function recluster(file: string, options?: ClusterOptions): Cluster {
  return new Cluster(resolveFile(file), resolveOptions(options));
}
