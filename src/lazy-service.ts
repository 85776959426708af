// A cluster service whose code is loaded only when it starts, so a primary that does not use it never loads it.
import type { Cluster, ClusterService } from './cluster.js';

/**
 * Wraps `load` (typically a dynamic import and a constructor) as a ClusterService. The primary's own code
 * stays small unless the feature is used: less to parse at startup, and less for the garbage collector to
 * keep in the primary's heap. A stop that comes while the code is still loading wins: the service is then
 * never started.
 */
export function lazyService(load: () => Promise<ClusterService>): ClusterService {
  let loading: Promise<ClusterService> | undefined;
  let stopped = false;
  return {
    async start(cluster: Cluster): Promise<void> {
      loading ??= load();
      const service = await loading;
      if (!stopped) await service.start(cluster);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (loading) await (await loading).stop();
    },
  };
}
