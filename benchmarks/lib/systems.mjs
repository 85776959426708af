// The systems under test, each run as its own primary process that run.mjs drives over IPC.
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const here = (file) => new URL(file, import.meta.url).pathname;

export const SYSTEMS = {
  bare: { label: 'bare node:cluster', primary: here('../primaries/bare.mjs') },
  // node:cluster with SCHED_NONE: the workers accept on the shared socket, the primary only forks.
  'bare-none': { label: 'bare node:cluster, SCHED_NONE', primary: here('../primaries/bare.mjs'), env: { BENCH_BARE_SCHED: 'none' } },
  // A control: bare node:cluster whose primary has also imported qilin and never calls it. Its memory tells what
  // merely loading more code into a primary does, and its throughput how far two identical systems differ.
  'bare-loaded': { label: 'bare node:cluster, qilin imported but unused', primary: here('../primaries/bare.mjs'), env: { BENCH_BARE_IMPORT_QILIN: '1' } },
  // The limit: standalone processes on SO_REUSEPORT sockets, nothing between the kernel and them. No primary, no reload.
  reuseport: { label: 'standalone processes, reusePort', primary: here('../primaries/reuseport.mjs'), noPrimary: true, noReload: true },
  qilin: { label: 'qilin', primary: here('../primaries/qilin.mjs') },
  // The workers accepting on one shared socket, where the default (on Linux) gives each slot a reusePort socket of its own.
  'qilin-kernel': { label: "qilin (balance: 'kernel')", primary: here('../primaries/qilin.mjs'), env: { BENCH_QILIN_BALANCE: 'kernel' } },
  'qilin-rr': { label: "qilin (balance: 'round-robin')", primary: here('../primaries/qilin.mjs'), env: { BENCH_QILIN_BALANCE: 'round-robin' } },
  // qilin with its primary left as node started it: V8's young generation free to grow, its optimizing compilers on.
  'qilin-not-lean': { label: 'qilin (leanPrimary: false)', primary: here('../primaries/qilin.mjs'), env: { BENCH_QILIN_LEAN: 'false' } },
  'qilin-rolling': { label: "qilin (strategy: 'rolling')", primary: here('../primaries/qilin.mjs'), env: { BENCH_QILIN_STRATEGY: 'rolling' } },
  recluster: { label: 'recluster 1.0.0', primary: here('../primaries/recluster.mjs') },
  // Not in the default run: isolates what the worker runtime costs (it also gives up the graceful drain).
  // Not in the default run: what rebalancing costs in the steady state (its count of busy connections, once a second).
  'qilin-no-rebalance': {
    label: 'qilin (rebalance: false)',
    primary: here('../primaries/qilin.mjs'),
    env: { BENCH_QILIN_REBALANCE: 'false' },
    extra: true,
  },
  'qilin-no-runtime': { label: 'qilin (runtime: false)', primary: here('../primaries/qilin.mjs'), env: { BENCH_QILIN_RUNTIME: 'false' }, extra: true },
  pm2: { label: 'PM2 7 (pm2 reload)', primary: here('../primaries/pm2.mjs'), pm2: true },
};

const PM2_BIN = here('../node_modules/.bin/pm2');

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [1] is the parent pid, [11] and [12] user and system time in clock ticks. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

const cpuTicks = (fields) => Number(fields[11]) + Number(fields[12]);

/** CPU time used so far by process `pid`, in milliseconds, from /proc; null where there is no /proc. */
export function cpuMsOf(pid) {
  const fields = statFields(pid);
  return fields ? (cpuTicks(fields) * 1000) / CLOCK_TICKS : null;
}

/** The pids of the direct children of `pid` (the workers), from /proc; null where there is no /proc. */
export function childPids(pid) {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  return entries.filter((entry) => /^\d+$/.test(entry) && Number(statFields(entry)?.[1]) === pid).map(Number);
}

/** CPU time used so far by the direct children of `pid` (the workers, or PM2's app instances), in milliseconds, from /proc; null where there is no /proc. */
export function childrenCpuMs(pid) {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields && Number(fields[1]) === pid) ticks += cpuTicks(fields);
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** Resident memory of a process in bytes, from /proc (Linux) or ps. */
export function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    if (Number.isFinite(kb)) return kb * 1024;
  } catch {
    // Not Linux: fall back to ps.
  }
  const ps = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  const kb = Number(ps.stdout.trim());
  return Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
}

function waitFor(child, predicate, what, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
    const onMessage = (message) => {
      if (message?.type === 'failed') done(new Error(`Primary failed: ${message.error}`));
      else if (predicate(message)) done(null, message);
    };
    const onExit = (code, signal) => done(new Error(`Primary exited (${code ?? signal}) while waiting for ${what}`));
    function done(error, value) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Starts a system's primary on `port` with `workers` workers (2 unless said) and waits until they listen. */
export async function startSystem(name, { port, log, workers = 2 }) {
  const system = SYSTEMS[name];
  const env = { ...process.env, PORT: String(port), BENCH_WORKERS: String(workers) };
  delete env.NODE_ENV; // Every system with its development defaults (recluster's and Qilin's 1 s drain timeout).
  // Each system's balancing is its own, not one inherited from the shell (node:cluster and Qilin read this).
  delete env.NODE_CLUSTER_SCHED_POLICY;
  Object.assign(env, system.env);
  let pm2Home = null;
  if (system.pm2) {
    pm2Home = mkdtempSync(path.join(tmpdir(), 'qilin-bench-pm2-'));
    env.PM2_HOME = pm2Home;
  }
  // Detached: its own process group, so everything it started can be ended by its id if it gets stuck.
  const child = fork(system.primary, [], { env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
  child.stdout.on('data', (chunk) => log(chunk.toString()));
  child.stderr.on('data', (chunk) => log(chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));

  let ready;
  try {
    ready = await waitFor(child, (m) => m?.type === 'ready', `${name} to start`, 60_000);
  } catch (error) {
    await kill();
    throw error;
  }

  let nextId = 0;
  async function kill() {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    if (pm2Home) {
      spawnSync(process.execPath, [PM2_BIN, 'kill'], { env: { ...process.env, PM2_HOME: pm2Home }, stdio: 'ignore', timeout: 30_000 });
      rmSync(pm2Home, { recursive: true, force: true });
    }
  }

  // `reuseport` has no primary: its controller only started the processes, which are its children.
  const primaryPid = system.noPrimary ? null : ready.primaryPid;
  return {
    name,
    label: system.label,
    coldStartMs: ready.coldStartMs,
    balance: ready.balance ?? null,
    noReload: Boolean(system.noReload),
    primaryPid,
    rss: () => (primaryPid === null ? null : rssOf(primaryPid)),
    workersCpuMs: () => childrenCpuMs(ready.primaryPid),
    primaryCpuMs: () => (primaryPid === null ? null : cpuMsOf(primaryPid)),
    /** The pids of the processes serving, now: the primary's children. */
    workerPids: () => childPids(ready.primaryPid),
    /**
     * The size of the primary's young generation (both semi-spaces), from V8 inside the primary; null for PM2,
     * whose primary is its daemon rather than the process run.mjs talks to.
     */
    async youngBytes() {
      if (system.pm2 || system.noPrimary) return null;
      const id = (nextId += 1);
      child.send({ type: 'heap', id });
      const reply = await waitFor(child, (m) => m?.type === 'heap' && m.id === id, `${name} heap statistics`, 10_000);
      return reply.youngBytes;
    },
    reload() {
      const id = (nextId += 1);
      child.send({ type: 'reload', id });
      return waitFor(child, (m) => m?.type === 'reloaded' && m.id === id, `${name} reload ${id}`, 120_000);
    },
    async stop() {
      child.send({ type: 'stop' });
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 20_000, 'timeout')));
      const outcome = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') log(`${name}: primary did not exit in 20 s, killing its process group\n`);
      await kill();
    },
  };
}
