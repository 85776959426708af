// Bare node:cluster, reloading the way it is commonly hand-written: fork a new generation, wait for each new
// worker's `listening`, then disconnect the old workers (with a kill timer for any that hang on). With
// BENCH_BARE_SCHED=none, node:cluster's SCHED_NONE: every worker accepts on the shared listening socket.
import cluster from 'node:cluster';
import { APP, WORKERS, control } from './control.mjs';

// node:cluster reads its scheduling policy once, at the first setupPrimary() or fork().
if (process.env.BENCH_BARE_SCHED === 'none') cluster.schedulingPolicy = cluster.SCHED_NONE;

// The control for the primary's memory: the same primary with qilin's code loaded but never called.
if (process.env.BENCH_BARE_IMPORT_QILIN === '1') await import('../../dist/index.js');

const KILL_AFTER = 1_000;

cluster.setupPrimary({ exec: APP });

function forkListening(count) {
  return Promise.all(
    Array.from({ length: count }, () => {
      const worker = cluster.fork();
      return new Promise((resolve, reject) => {
        worker.once('listening', () => resolve(worker));
        worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before listening`)));
      });
    }),
  );
}

let current = [];

function retire(worker) {
  const timer = setTimeout(() => worker.kill('SIGKILL'), KILL_AFTER);
  worker.once('exit', () => clearTimeout(timer));
  worker.disconnect();
}

await control({
  async start() {
    current = await forkListening(WORKERS);
    return { balance: cluster.schedulingPolicy === cluster.SCHED_NONE ? 'kernel' : 'round-robin' };
  },
  async reload() {
    const next = await forkListening(WORKERS);
    const old = current;
    current = next;
    for (const worker of old) retire(worker);
  },
  async stop() {
    await Promise.all(
      Object.values(cluster.workers).map(
        (worker) =>
          new Promise((resolve) => {
            worker.once('exit', resolve);
            retire(worker);
          }),
      ),
    );
  },
});
