// The primary's memory across reloads with no load: V8's heap after a full GC, private memory (RssAnon) and the
// executable's pages (RssFile), for qilin, for qilin with `leanPrimary: false` (V8's young generation free to
// grow and its optimizing compilers on in the primary, docs/deploying.md) and for bare node:cluster doing the same reload loop.
// Each system runs in a child process of its own (node --expose-gc); a reading every --every reloads.
//   node benchmarks/primary-memory.mjs [--reloads=400] [--every=100]
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const APP = new URL('./app.cjs', import.meta.url).pathname;
const { values } = parseArgs({ options: { reloads: { type: 'string', default: '400' }, every: { type: 'string', default: '100' }, system: { type: 'string' }, lean: { type: 'string', default: 'true' } } });
const reloads = Number(values.reloads);
const every = Number(values.every);

function reading(after) {
  globalThis.gc();
  globalThis.gc();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { after, heapUsed: process.memoryUsage().heapUsed, rssAnon: kib('RssAnon') * 1024, rssFile: kib('RssFile') * 1024 };
}

async function bare() {
  cluster.setupPrimary({ exec: APP });
  const forkListening = () =>
    new Promise((resolve) => {
      const worker = cluster.fork({ PORT: '0' });
      worker.once('listening', () => resolve(worker));
    });
  let workers = [await forkListening(), await forkListening()];
  return {
    reload: async () => {
      const fresh = [await forkListening(), await forkListening()];
      await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve).disconnect())));
      workers = fresh;
    },
    stop: async () => Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve).kill()))),
  };
}

async function qilin() {
  const { recluster } = await import('../dist/index.js');
  const cluster = recluster(APP, { workers: 2, log: false, env: { PORT: '0' }, leanPrimary: values.lean !== 'false' });
  await cluster.run();
  return { reload: () => cluster.reload(), stop: () => cluster.shutdown() };
}

if (values.system) {
  // In the child: one system's loop.
  const system = await (values.system === 'bare' ? bare() : qilin());
  const readings = [reading(0)];
  for (let i = 1; i <= reloads; i += 1) {
    await system.reload();
    if (i % every === 0) {
      // Long enough for the old workers' exits to have been handled.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      readings.push(reading(i));
    }
  }
  await system.stop();
  process.send(readings);
} else {
  const mib = (bytes) => (bytes / 1048576).toFixed(1);
  console.log(`Primary memory over ${reloads} reloads with no load (Node ${process.version}); MiB`);
  const variants = [
    { name: 'qilin', system: 'qilin', lean: true },
    { name: 'qilin (leanPrimary: false)', system: 'qilin', lean: false },
    { name: 'bare node:cluster (fork two, disconnect two)', system: 'bare', lean: false },
  ];
  for (const { name, system, lean } of variants) {
    const args = [`--system=${system}`, `--reloads=${reloads}`, `--every=${every}`, `--lean=${lean}`];
    const child = fork(new URL(import.meta.url).pathname, args, { execArgv: ['--expose-gc'] });
    const readings = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`${system} exited with ${code}`)));
    });
    const row = (what, pick) => `| ${name}: ${what} | ${readings.map((r) => mib(pick(r))).join(' | ')} |`;
    console.log(`| after reloads | ${readings.map((r) => r.after).join(' | ')} |`);
    console.log(row('V8 heap used', (r) => r.heapUsed));
    console.log(row('private memory, RssAnon', (r) => r.rssAnon));
    console.log(row("the node binary's pages, RssFile", (r) => r.rssFile));
    console.log(row('resident in all', (r) => r.rssAnon + r.rssFile));
  }
}
