// Qilin's primary: the library with default options (or BENCH_QILIN_STRATEGY, BENCH_QILIN_RUNTIME), 2 workers.
import { recluster } from '../../dist/index.js';
import { APP, WORKERS, control } from './control.mjs';

const options = { workers: WORKERS };
if (process.env.BENCH_QILIN_STRATEGY) options.strategy = process.env.BENCH_QILIN_STRATEGY;
if (process.env.BENCH_QILIN_RUNTIME === 'false') options.runtime = false;

let cluster;

await control({
  async start() {
    cluster = recluster(APP, options);
    await cluster.run();
  },
  async reload() {
    const result = await cluster.reload();
    return { reportedMs: result.durationMs };
  },
  async stop() {
    await cluster.shutdown();
  },
});
