// Qilin's primary: the library with default options (or BENCH_QILIN_STRATEGY, BENCH_QILIN_RUNTIME, BENCH_QILIN_BALANCE, BENCH_QILIN_REBALANCE, BENCH_QILIN_LEAN), 2 workers.
import { recluster } from '../../dist/index.js';
import { APP, WORKERS, control } from './control.mjs';

const options = { workers: WORKERS };
if (process.env.BENCH_QILIN_STRATEGY) options.strategy = process.env.BENCH_QILIN_STRATEGY;
if (process.env.BENCH_QILIN_RUNTIME === 'false') options.runtime = false;
if (process.env.BENCH_QILIN_BALANCE) options.balance = process.env.BENCH_QILIN_BALANCE;
if (process.env.BENCH_QILIN_REBALANCE === 'false') options.rebalance = false;
if (process.env.BENCH_QILIN_LEAN === 'false') options.leanPrimary = false;

let cluster;

await control({
  async start() {
    cluster = recluster(APP, options);
    // Each rebalancing round that moved connections, in the run's log: how often the phase's pools were moved.
    cluster.on('rebalance', ({ workers }) => console.error(`rebalance: busy ${workers.map((w) => w.busy).join(', ')}; asked ${workers.map((w) => w.asked).join(', ')}`));
    await cluster.run();
    // The balance in force, which run.mjs records: node:cluster's policy is per process and fixed at its first fork.
    return { balance: cluster.balance };
  },
  async reload() {
    const result = await cluster.reload();
    return { reportedMs: result.durationMs };
  },
  async stop() {
    await cluster.shutdown();
  },
});
