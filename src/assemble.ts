// The one way a cluster is assembled with its services (file watcher, admin interface), for recluster() and for the `qilin` command alike.
import { ADMIN_OPTION } from './admin/options.js';
import { Cluster, type ClusterService } from './cluster.js';
import { lazyService } from './lazy-service.js';
import { type ClusterOptions, type OptionStep, type ResolvedOptions, resolveOptions } from './options.js';
import { FileWatcher } from './watch.js';

/** The pipeline with every step the assembled cluster has: the core options, then the admin interface's. */
export function resolveClusterOptions(input: ClusterOptions | undefined, environment: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  return resolveOptions(input, environment, [ADMIN_OPTION as OptionStep]);
}

/**
 * The services a cluster runs beside its workers. Left out, each is what the options say: a FileWatcher for
 * `watch`, the admin interface for `admin` (its server's code is loaded only when it starts, so a primary
 * without it does not carry it). Given (the `qilin` command gives its own, to report and steer them), or null
 * for none.
 */
export interface Services {
  readonly watcher?: ClusterService | null;
  readonly admin?: ClusterService | null;
}

/** Creates the cluster for `file` with resolved options, and attaches its services. Nothing forks until `run()`. */
export function assembleCluster(file: string, options: ResolvedOptions, services: Services = {}): Cluster {
  const cluster = new Cluster(file, options);
  const { watch, admin } = options;
  const watcher = services.watcher !== undefined ? services.watcher : watch ? new FileWatcher(watch) : null;
  const adminService =
    services.admin !== undefined ? services.admin : admin ? lazyService(async () => new (await import('./admin/server.js')).AdminServer(admin)) : null;
  for (const service of [watcher, adminService]) if (service) cluster.attach(service);
  return cluster;
}
