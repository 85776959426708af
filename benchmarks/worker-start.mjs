// What starting workers costs, with no load: each new worker's own CPU time when its server began listening,
// the cold start of 2 workers, and a reload of 2 workers without load, for qilin (default options) and for bare
// node:cluster doing the same (fork two, wait for 'listening', disconnect the two before them).
// Each system runs in a child process of its own, one after the other, --runs times in alternation.
//   node benchmarks/worker-start.mjs [--reloads=10] [--runs=3]
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { freePort, median } from './lib/util.mjs';

const APP = new URL('./app.cjs', import.meta.url).pathname;
const { values } = parseArgs({ options: { reloads: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' }, system: { type: 'string' } } });
const reloads = Number(values.reloads);
const pause = () => new Promise((resolve) => setTimeout(resolve, 300));

/** The app tells its CPU time once it listens (BENCH_REPORT_START): worker pid to CPU ms. */
const startCpu = new Map();
cluster.on('message', (worker, message) => {
  if (message?.type === 'started') startCpu.set(worker.process.pid, message.cpuMs);
});

async function bare() {
  cluster.setupPrimary({ exec: APP });
  const forkListening = () =>
    new Promise((resolve) => {
      const worker = cluster.fork();
      worker.once('listening', () => resolve(worker));
    });
  const started = async () => Promise.all([forkListening(), forkListening()]);
  return {
    start: started,
    async reload(previous) {
      const next = await started();
      for (const worker of previous) worker.disconnect();
      return next;
    },
    async stop(workers) {
      for (const worker of workers) worker.kill();
    },
  };
}

async function qilin() {
  const { recluster } = await import('../dist/index.js');
  const instance = recluster(APP, { workers: 2 });
  return {
    async start() {
      await instance.run();
    },
    async reload() {
      await instance.reload();
    },
    stop: () => instance.shutdown(),
  };
}

async function measure(name) {
  const system = name === 'bare' ? await bare() : await qilin();
  const t0 = performance.now();
  let workers = await system.start();
  const coldStartMs = performance.now() - t0;
  const reloadMs = [];
  for (let i = 0; i < reloads; i += 1) {
    await pause();
    const r0 = performance.now();
    workers = await system.reload(workers);
    reloadMs.push(performance.now() - r0);
  }
  await pause();
  await system.stop(workers);
  return { coldStartMs, reloadMs: median(reloadMs), workerCpuMs: median([...startCpu.values()]) };
}

if (values.system) {
  process.send(await measure(values.system));
  process.exit(0);
}

const results = { bare: [], qilin: [] };
for (let run = 0; run < Number(values.runs); run += 1) {
  for (const name of Object.keys(results)) {
    const env = { ...process.env, PORT: String(await freePort()), BENCH_REPORT_START: '1' };
    const child = fork(new URL(import.meta.url).pathname, [`--system=${name}`, `--reloads=${reloads}`], { env });
    results[name].push(await new Promise((resolve, reject) => child.once('message', resolve).once('exit', (code) => reject(new Error(`${name} exited with ${code}`)))));
  }
}
const fmt = (list, key) => list.map((r) => r[key].toFixed(0)).join(', ');
console.log(`Node ${process.version}; 2 workers; ${reloads} reloads per run, without load; medians per run (ms)`);
console.log('| | worker CPU at listening | cold start | reload |\n|---|---|---|---|');
for (const [name, list] of Object.entries(results)) {
  console.log(`| ${name === 'bare' ? 'bare node:cluster' : 'qilin'} | ${fmt(list, 'workerCpuMs')} | ${fmt(list, 'coldStartMs')} | ${fmt(list, 'reloadMs')} |`);
}
