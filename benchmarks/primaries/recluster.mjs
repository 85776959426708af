// recluster 1.0.0's primary: `cluster.run()`, and `cluster.reload(cb)` for each reload, default options.
import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import { APP, WORKERS, control } from './control.mjs';

const recluster = createRequire(import.meta.url)('recluster');
const balancer = recluster(APP, { workers: WORKERS });

await control({
  start() {
    return new Promise((resolve) => {
      let ready = 0;
      const onReady = () => {
        ready += 1;
        if (ready === WORKERS) {
          balancer.removeListener('ready', onReady);
          resolve({ balance: cluster.schedulingPolicy === cluster.SCHED_NONE ? 'kernel' : 'round-robin' });
        }
      };
      balancer.on('ready', onReady);
      balancer.run();
    });
  },
  reload() {
    return new Promise((resolve) => balancer.reload(() => resolve()));
  },
  stop() {
    return new Promise((resolve) => balancer.terminate(() => resolve()));
  },
});
