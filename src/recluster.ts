// The factory users call: `recluster(file, options)`, as in recluster 1.0.0.
import { Cluster } from './cluster.js';
import { type ClusterOptions, resolveFile, resolveOptions } from './options.js';
import { lazyService } from './lazy-service.js';
import { FileWatcher } from './watch.js';

/**
 * Creates a cluster that runs `file` in `options.workers` worker processes. Options are validated here,
 * before anything forks; a wrong one throws an InvalidOptionError naming it. Call `run()` to start.
 * With `watch`, a file watcher is attached: it starts with `run()` and stops with the cluster.
 * With `options.admin`, the admin interface is attached: it listens from `run()` until the cluster stops. Its
 * code is loaded then, so a primary without it does not carry it.
 */
export function recluster(file: string, options?: ClusterOptions): Cluster {
  const script = resolveFile(file);
  const resolved = resolveOptions(options);
  const cluster = new Cluster(script, resolved);
  if (resolved.watch) cluster.attach(new FileWatcher(resolved.watch));
  const { admin } = resolved;
  if (admin) cluster.attach(lazyService(async () => new (await import('./admin/server.js')).AdminServer(admin)));
  return cluster;
}
