// The reload-under-load benchmark: every system, in both client modes, in one run; writes results JSON, docs/benchmarks.md and the chart.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { drawChart } from './lib/chart.mjs';
import { findLoadTool } from './lib/load.mjs';
import { startPollers } from './lib/pollers.mjs';
import { writeReport } from './lib/report.mjs';
import { SYSTEMS, startSystem } from './lib/systems.mjs';
import { runUpgrades } from './upgrade.mjs';
import { cpuUsPerRequest, freePort, lostOf, median, mib, shuffle, sleep, throughputOf } from './lib/util.mjs';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);

const DEFAULTS = {
  reloads: 20,
  gap: 1000,
  warmup: 3,
  steady: 48,
  rounds: 24,
  focus: 'bare,bare-loaded,qilin,reuseport',
  'focus-rounds': 72,
  'idle-reloads': 5,
  'cold-starts': 3,
  connections: 32,
  systems: Object.keys(SYSTEMS)
    .filter((name) => !SYSTEMS[name].extra)
    .join(','),
  modes: 'keep-alive,close',
  tool: 'auto',
  bucket: 100,
  timeout: 2,
  soak: 1200,
  'soak-reloads': 2000,
  'soak-gap': 100,
  'soak-systems': 'qilin,qilin-rr',
  'soak-close-systems': 'bare,qilin-not-lean',
  pollers: 16,
  'poller-waits': '450,1000,5000,6000',
  spread: 10,
  'spread-settle': 5,
  'spread-workers': '2,4,8',
  'spread-systems': 'bare,bare-none,reuseport,qilin,qilin-kernel,qilin-rr',
  upgrades: 10,
};
const QUICK = { reloads: 3, warmup: 1, steady: 2, rounds: 2, 'focus-rounds': 2, 'idle-reloads': 2, 'cold-starts': 1, soak: 0, spread: 2, 'spread-settle': 1, upgrades: 2 };
/** Load before each spread window, not counted: the new processes' code gets compiled before it counts. */
const SPREAD_WARMUP_SEC = 1;

const { values: flags } = parseArgs({
  // --no-docs as well as --docs (Node 22.4+).
  allowNegative: true,
  options: {
    quick: { type: 'boolean', default: false },
    docs: { type: 'boolean' },
    help: { type: 'boolean', default: false },
    render: { type: 'string' },
    ...Object.fromEntries(Object.keys(DEFAULTS).map((key) => [key, { type: 'string' }])),
  },
});

if (flags.help) {
  console.log(`Usage: node benchmarks/run.mjs [--quick] [--docs|--no-docs] [--key=value ...]
Every option can also be set as BENCH_<KEY> in the environment (--idle-reloads: BENCH_IDLE_RELOADS).
${Object.entries(DEFAULTS)
  .map(([key, value]) => `  --${key.padEnd(19)} default ${value}${key in QUICK ? ` (--quick: ${QUICK[key]})` : ''}`)
  .join('\n')}
  --quick               a short run to try things out; writes docs only with --docs
  --docs                write docs/benchmarks.md and docs/benchmarks-reload.svg (default: only for the full scenario)
  --render=FILE         write the docs from a results file of an earlier run, without running anything`);
  process.exit(0);
}

function writeDocs(results) {
  mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  writeFileSync(path.join(ROOT, 'docs', 'benchmarks-reload.svg'), drawChart(results));
  writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), writeReport(results));
  console.log('Wrote docs/benchmarks.md and docs/benchmarks-reload.svg');
}

if (flags.render) {
  writeDocs(JSON.parse(readFileSync(path.resolve(flags.render), 'utf8')));
  process.exit(0);
}

// The reuseport system needs listen({ reusePort: true }) (Node 22.12+), and Qilin itself says >=22.12.
const [nodeMajor, nodeMinor] = process.versions.node.split('.').map(Number);
if (nodeMajor < 22 || (nodeMajor === 22 && nodeMinor < 12)) {
  console.error(
    `The benchmark needs Node 22.12 or later (Qilin's engines field; listen({ reusePort: true }) for the reuseport system); this is Node ${process.version}.\n` +
      'Run it with a newer node first on PATH, e.g. PATH=/path/to/node-24/bin:$PATH npm run bench',
  );
  process.exit(1);
}

const quick = flags.quick || process.env.BENCH_QUICK === '1';
function option(key) {
  const env = process.env[`BENCH_${key.toUpperCase().replaceAll('-', '_')}`];
  return flags[key] ?? env ?? (quick && key in QUICK ? QUICK[key] : DEFAULTS[key]);
}
const config = {
  reloads: Number(option('reloads')),
  gapMs: Number(option('gap')),
  warmupSec: Number(option('warmup')),
  steadySec: Number(option('steady')),
  rounds: Number(option('rounds')),
  focus: String(option('focus')).split(',').filter(Boolean),
  focusRounds: Number(option('focus-rounds')),
  idleReloads: Number(option('idle-reloads')),
  coldStarts: Number(option('cold-starts')),
  connections: Number(option('connections')),
  systems: String(option('systems')).split(',').filter(Boolean),
  modes: String(option('modes')).split(',').filter(Boolean),
  bucketMs: Number(option('bucket')),
  timeoutSec: Number(option('timeout')),
  soakSec: Number(option('soak')),
  soakReloads: Number(option('soak-reloads')),
  soakGapMs: Number(option('soak-gap')),
  soakSystems: String(option('soak-systems')).split(',').filter(Boolean),
  soakCloseSystems: String(option('soak-close-systems')).split(',').filter(Boolean),
  pollers: Number(option('pollers')),
  pollerWaitsMs: String(option('poller-waits')).split(',').filter(Boolean).map(Number),
  spreadSec: Number(option('spread')),
  spreadSettleSec: Number(option('spread-settle')),
  spreadWorkers: String(option('spread-workers')).split(',').filter(Boolean).map(Number),
  spreadSystems: String(option('spread-systems')).split(',').filter(Boolean),
};
for (const name of [...config.systems, ...config.focus, ...config.soakSystems, ...config.soakCloseSystems, ...config.spreadSystems]) {
  if (!SYSTEMS[name]) throw new Error(`Unknown system ${name}; known: ${Object.keys(SYSTEMS).join(', ')}`);
}
if (!Number.isInteger(config.pollers) || config.pollers < 0) throw new Error(`--pollers takes a whole number, got ${option('pollers')}`);
if (config.pollers > 0 && (config.pollerWaitsMs.length === 0 || config.pollerWaitsMs.some((ms) => !(ms > 0)))) {
  throw new Error(`--poller-waits takes positive numbers of ms, got ${option('poller-waits')}`);
}
for (const n of config.spreadWorkers) if (!Number.isInteger(n) || n < 1) throw new Error(`--spread-workers takes positive integers, got ${n}`);
if (!(config.spreadSettleSec >= 0)) throw new Error(`--spread-settle takes seconds (0 or more), got ${option('spread-settle')}`);
for (const mode of config.modes) if (!['keep-alive', 'close'].includes(mode)) throw new Error(`Unknown mode ${mode}; known: keep-alive, close`);
const isFullScenario = Object.entries(DEFAULTS).every(([key]) => String(option(key)) === String(DEFAULTS[key]));
const docs = flags.docs ?? (process.env.BENCH_DOCS ? process.env.BENCH_DOCS === '1' : isFullScenario);

const tool = findLoadTool(String(option('tool')));
const resultsDir = path.join(ROOT, 'benchmarks', 'results');
mkdirSync(resultsDir, { recursive: true });
const logPath = path.join(resultsDir, 'latest.log');
const logLines = [];
const log = (text) => logLines.push(text);
const say = (text) => {
  console.log(text);
  log(`${text}\n`);
};

/** Resident memory of a primary: the median of a few readings over `ms`, so one reading mid-GC does not decide. */
async function rssOver(system, ms) {
  const samples = [];
  for (let t = 0; t <= ms; t += 250) {
    samples.push(system.rss());
    await sleep(250);
  }
  return median(samples);
}

/**
 * The long zero-loss test, and the primary's memory once the garbage collector has settled: load with a reload
 * `--soak-gap` ms after each one completes, until `--soak-reloads` reloads or `--soak` seconds, whichever comes
 * first; `--pollers` keep-alive clients beside the load whose waits land on a draining worker's boundaries; RSS
 * and the size of the young generation read every 5 s. The memory figure is the median of the RSS readings in
 * the last third of the soak. A primary that hands over every connection grows its young generation step by
 * step, each step later than the one before, for minutes (bare node:cluster's took 4 minutes to reach V8's
 * maximum in one run), so the reading right after the 20 reloads can catch one system before that growth and
 * another after it. The young generation's size at the end shows whether the systems compared had got as far.
 */
async function soak(system) {
  const running = system.load(null);
  // The pollers start with the load, so each holds a connection when the first reload comes.
  await sleep(running.startAt - Date.now());
  const pollers = config.pollers > 0 ? startPollers({ port: system.port, count: config.pollers, waitsMs: config.pollerWaitsMs, timeoutMs: config.timeoutSec * 1000 }) : null;
  // As in the reload phase, the first reload comes 1 s into the load. wrk opens its connections up to 0.5 s
  // before they all start sending (wrk.mjs); a reload in that time retires workers holding connections that
  // are idle for longer than a draining worker's grace for idle ones (half its drain deadline: 0.45 s with
  // the development timeout of 1 s), which closes them just before their first request.
  await sleep(running.startAt + 1000 - Date.now());
  const startedAt = Date.now();
  const cpuAtStart = system.primaryCpuMs();
  const samples = [];
  let reloads = 0;
  let failedReloads = 0;
  let nextSample = startedAt;
  const reloadTimes = [];
  while (Date.now() - startedAt < config.soakSec * 1000 && reloads < config.soakReloads) {
    const askedAt = Date.now();
    if ((await system.reload()).error) failedReloads += 1;
    reloadTimes.push([askedAt, Date.now()]);
    reloads += 1;
    await sleep(config.soakGapMs);
    if (Date.now() >= nextSample) {
      samples.push({ atSec: (Date.now() - startedAt) / 1000, rss: system.rss(), youngBytes: await system.youngBytes() });
      nextSample += 5000;
    }
  }
  const durationSec = Math.round((Date.now() - startedAt) / 1000);
  // Long enough for the last retiring workers to finish (drain deadlines are 1 to 1.6 s): late failures count.
  await sleep(2000);
  const polled = pollers ? await pollers.stop() : null;
  const phase = await running.stop();
  const cpuAtEnd = system.primaryCpuMs();
  const late = samples.filter((s) => s.atSec >= (durationSec * 2) / 3);
  const reloadMs = reloadTimes.map(([asked, done]) => done - asked);
  return {
    durationSec,
    gapMs: config.soakGapMs,
    reloads,
    failedReloads,
    reloadMs: { median: median(reloadMs), max: reloadMs.length ? Math.max(...reloadMs) : null },
    lost: lostOf(phase),
    failures: phase.failures,
    // Where any were lost: each time bucket with failures or with the slowest response over the timeout, and
    // the reload nearest to it (ms from that reload's start; negative: before it).
    failedBuckets: failedBucketsOf(phase, reloadTimes),
    pollers: polled && { ...polled, failed: polled.failed.map((failure) => placePoll(failure, reloadTimes, startedAt)) },
    samples,
    rss: median(late.map((s) => s.rss)),
    youngBytes: samples.at(-1)?.youngBytes ?? null,
    primaryCpuMs: cpuAtStart === null || cpuAtEnd === null ? null : cpuAtEnd - cpuAtStart,
    primaryCpuUsPerRequest: cpuUsPerRequest(cpuAtStart, cpuAtEnd, phase.requests),
  };
}

/** The reload whose start is nearest to `at` (epoch ms), as [asked, completed]. */
function nearestReload(reloadTimes, at) {
  return reloadTimes.reduce((best, times) => (Math.abs(times[0] - at) < Math.abs(best[0] - at) ? times : best), reloadTimes[0] ?? [at, at]);
}

/**
 * A failed poll placed against the reloads: ms from the nearest reload's start (negative: before it) and that
 * reload's duration, as for wrk's failed buckets; and ms since the last reload that had completed when the
 * request was sent, which is when the workers before it were told to retire (strategy 'all').
 */
function placePoll(failure, reloadTimes, startedAt) {
  const nearest = nearestReload(reloadTimes, failure.sentAt);
  const before = reloadTimes.findLast(([, done]) => done <= failure.sentAt);
  return {
    ...failure,
    atSec: (failure.sentAt - startedAt) / 1000,
    fromReloadMs: failure.sentAt - nearest[0],
    reloadMs: nearest[1] - nearest[0],
    sinceReloadDoneMs: before ? failure.sentAt - before[1] : null,
  };
}

/** The time buckets of a load run with failed requests or a response slower than the timeout, each placed against the nearest reload. */
function failedBucketsOf(phase, reloadTimes) {
  if (!phase.buckets) return null;
  return phase.buckets
    .filter(([, , failed, non2xx, maxMs]) => failed > 0 || non2xx > 0 || maxMs > config.timeoutSec * 1000)
    .map(([at, responses, failed, non2xx, maxMs]) => {
      const nearest = nearestReload(reloadTimes, at);
      return { atSec: (at - phase.startAt) / 1000, responses, failed, non2xx, maxMs, fromReloadMs: at - nearest[0], reloadMs: nearest[1] - nearest[0] };
    });
}

/**
 * One client mode: start every system, warm each up, measure steady-state throughput in interleaved rounds
 * (so load from elsewhere on the machine falls on every system alike), then, one system at a time, the
 * reloads under load and the reloads without load. Every system's idle workers stay up meanwhile.
 */
async function runMode(mode) {
  const keepAlive = mode === 'keep-alive';
  const systems = [];
  try {
    for (const name of config.systems) {
      const port = await freePort();
      const prefix = (text) => log(text.replace(/^(?=.)/gm, `[${name} ${mode}] `));
      const system = await startSystem(name, { port, log: prefix });
      system.port = port;
      system.load = (durationSec, settleSec = 0) =>
        tool.start({ url: `http://127.0.0.1:${port}/`, connections: config.connections, keepAlive, durationSec, settleSec, bucketMs: config.bucketMs, timeoutSec: config.timeoutSec });
      system.run = { name, label: system.label, mode, balance: system.balance, coldStartMs: system.coldStartMs, steadyRounds: [], rssSteadySamples: [] };
      systems.push(system);
      say(`  ${system.label}: started 2 workers in ${system.coldStartMs.toFixed(0)} ms (balance: ${system.balance})`);
    }
    // The primaries' own footprint, before they have handled a connection.
    for (const system of systems) system.run.rssIdle = await rssOver(system, 1000);
    for (const system of systems) system.run.warmup = await system.load(config.warmupSec).result;

    const sliceSec = config.steadySec / config.rounds;
    const steadyOrder = [];
    // Every system in the first --rounds rounds; then --focus-rounds more for the systems the steady-state
    // target compares (bare, the control and qilin), so that its figure rests on enough rounds to tell 3%
    // from the noise (README, step 3). Slice i of every system is from round i: ratios pair by index.
    const focused = systems.filter((system) => config.focus.includes(system.run.name));
    const plan = [
      { members: systems, rounds: config.rounds },
      { members: focused.length > 1 ? focused : [], rounds: config.focusRounds },
    ];
    for (const { members, rounds } of plan) {
      let order = members;
      for (let round = 0; round < rounds && members.length > 0; round += 1) {
        // Rounds come in pairs: a new random order, then the same order reversed. Every system then has the same
        // mean position within each pair and the same idle time before its slices on average, a drift of the
        // machine's speed over the pair falls on all alike, and no system always follows the same one.
        order = round % 2 === 0 ? shuffle(members) : [...order].reverse();
        steadyOrder.push(order.map((system) => system.run.name));
        for (const system of order) {
          const cpuBefore = system.workersCpuMs();
          const primaryBefore = system.primaryCpuMs();
          const slice = await system.load(sliceSec).result;
          const cpuAfter = system.workersCpuMs();
          // Workers' CPU time per request served: what serving costs, whatever the scheduler did to throughput.
          slice.workerCpuUsPerRequest = cpuUsPerRequest(cpuBefore, cpuAfter, slice.requests);
          slice.primaryCpuUsPerRequest = cpuUsPerRequest(primaryBefore, system.primaryCpuMs(), slice.requests);
          system.run.steadyRounds.push(slice);
          system.run.rssSteadySamples.push(system.rss());
        }
      }
    }
    for (const system of systems) system.run.steadyOrder = steadyOrder;
    for (const system of systems) {
      const { run } = system;
      run.steady = {
        rps: median(run.steadyRounds.map(throughputOf)),
        p99: median(run.steadyRounds.map((r) => r.latencyMs.p99)),
        lost: run.steadyRounds.reduce((sum, r) => sum + lostOf(r), 0),
      };
      run.rssSteady = median(run.rssSteadySamples);
    }

    // reuseport has no reload: it is in the steady state only.
    for (const system of systems) {
      const { run } = system;
      if (system.noReload) {
        run.noReload = true;
        say(`  ${run.label}: steady ${run.steady.rps.toFixed(0)} req/s; no reload`);
        continue;
      }
      const running = system.load(null);
      await sleep(running.startAt + 1000 - Date.now());
      run.reloads = [];
      for (let i = 0; i < config.reloads; i += 1) {
        const reload = await system.reload();
        run.reloads.push(reload);
        if (reload.error) say(`    reload ${i + 1} failed: ${reload.error}`);
        await sleep(config.gapMs);
      }
      // Long enough for the last retiring workers to finish (drain deadlines are 1 to 1.6 s): late failures count.
      await sleep(Math.max(0, 2000 - config.gapMs));
      run.reloadPhase = await running.stop();
      run.rssAfterReloads = await rssOver(system, 1500);
      run.youngAfterReloads = await system.youngBytes();

      run.idleReloads = [];
      for (let i = 0; i < config.idleReloads; i += 1) {
        run.idleReloads.push(await system.reload());
        await sleep(500);
      }
      say(`  ${run.label}: steady ${run.steady.rps.toFixed(0)} req/s; ${lostOf(run.reloadPhase)} lost during ${run.reloads.length} reloads`);
    }
    // The soak: --soak-systems in every client mode, --soak-close-systems (bare: the memory target's baseline
    // for qilin-rr; qilin-not-lean: the primary's memory without leanPrimary) with `Connection: close` only.
    const soaked = (name) => config.soakSystems.includes(name) || (mode === 'close' && config.soakCloseSystems.includes(name));
    if (config.soakSec > 0 && config.soakReloads > 0) {
      for (const system of systems.filter((s) => soaked(s.run.name) && !s.noReload)) {
        const result = await soak(system);
        system.run.soak = result;
        const young = result.youngBytes === null ? '' : ` (young generation ${mib(result.youngBytes, 0)})`;
        const polled = result.pollers ? `; pollers ${result.pollers.lost} lost of ${result.pollers.polls}` : '';
        say(`  ${system.run.label}: ${mib(result.rss)}${young} after ${result.durationSec} s of load and ${result.reloads} reloads (median ${result.reloadMs.median?.toFixed(0)} ms); ${result.lost} lost${polled}`);
        for (const f of result.pollers?.failed ?? []) {
          say(`    poll lost: ${f.kind} (${f.code ?? f.status}) at ${f.atSec.toFixed(1)} s, wait ${f.waitMs} ms, ${f.reused ? `kept-alive connection idle ${f.idleMs.toFixed(0)} ms` : 'new connection'}, ${f.fromReloadMs} ms from a reload's start (it took ${f.reloadMs} ms), ${f.sinceReloadDoneMs ?? 'n/a'} ms after the last one completed`);
        }
      }
    }
    return systems.map((system) => system.run);
  } finally {
    for (const system of systems) await system.stop();
  }
}

/**
 * How evenly the requests spread across the workers: for `workers` workers in one client mode, every spread
 * system is started, warmed up, then given one pool of load, in random order, with the responses counted per
 * serving process (the pid in the app's body): over the `--spread` seconds that follow the pool's first
 * `--spread-settle` seconds (the steady window), and over the whole pool, its opening included. With keep-alive,
 * a connection stays on the worker it landed on, so the spread is that of the 32 connections: what users of that
 * system see.
 */
async function runSpread(workers, mode) {
  const keepAlive = mode === 'keep-alive';
  const systems = [];
  const cases = [];
  try {
    for (const name of config.spreadSystems.filter((n) => config.systems.includes(n))) {
      const port = await freePort();
      const prefix = (text) => log(text.replace(/^(?=.)/gm, `[${name} ${mode} ${workers} workers] `));
      const system = await startSystem(name, { port, log: prefix, workers });
      system.load = (durationSec, settleSec = 0) =>
        tool.start({ url: `http://127.0.0.1:${port}/`, connections: config.connections, keepAlive, durationSec, settleSec, bucketMs: config.bucketMs, timeoutSec: config.timeoutSec });
      systems.push(system);
    }
    for (const system of systems) await system.load(SPREAD_WARMUP_SEC).result;
    for (const system of shuffle(systems)) {
      const pids = system.workerPids() ?? [];
      const settle = config.spreadSettleSec;
      const window = await system.load(settle + config.spreadSec, settle).result;
      const perWorkerOf = (counts) =>
        pids.map((pid) => {
          const [responses, connections] = counts[pid] ?? [0, 0];
          return { pid, responses, connections };
        });
      const known = new Set(pids.map(String));
      cases.push({
        workers,
        mode,
        name: system.name,
        label: system.label,
        balance: system.balance,
        requests: window.requests,
        durationMs: window.durationMs,
        lost: lostOf(window),
        settleSec: settle,
        // Over the steady window (after the pool's first `settle` seconds), and over the whole pool.
        perWorker: perWorkerOf(settle > 0 ? window.settledPerWorker : window.perWorker),
        perWorkerWhole: perWorkerOf(window.perWorker),
        // Responses from a process that was not one of the system's workers when the window began: should be 0.
        otherResponses: Object.entries(window.perWorker).reduce((sum, [pid, [responses]]) => sum + (known.has(pid) ? 0 : responses), 0),
      });
    }
  } finally {
    for (const system of systems) await system.stop();
  }
  // In the order of --spread-systems, whatever order they were measured in.
  return config.spreadSystems.flatMap((name) => cases.filter((c) => c.name === name));
}

const startedAt = new Date();
const loadAtStart = os.loadavg();
say(`Qilin reload benchmark: ${config.systems.join(', ')}; modes ${config.modes.join(', ')}; ${config.reloads} reloads; load from ${tool.name}`);
// Cold starts without load, beyond the one at the start of each scenario: the reload-time target divides by it.
const coldStarts = {};
say(`Cold starts (${config.coldStarts} per system, no load)`);
for (const name of config.systems) {
  coldStarts[name] = { samples: [] };
  for (let i = 0; i < config.coldStarts; i += 1) {
    const system = await startSystem(name, { port: await freePort(), log });
    coldStarts[name].samples.push(system.coldStartMs);
    await system.stop();
  }
}

const runs = [];
// `--steady=0 --reloads=0` leaves the main phase out: the spread (or the soak) alone.
const mainPhase = config.steadySec > 0 || config.reloads > 0;
for (const mode of mainPhase ? config.modes : []) {
  say(`Client mode: ${mode}`);
  runs.push(...(await runMode(mode)));
}
const spread = [];
if (config.spreadSec > 0 && config.spreadSystems.some((n) => config.systems.includes(n))) {
  say(`Spread across workers (${config.spreadSec} s per case after ${config.spreadSettleSec} s of the pool; ${config.spreadWorkers.join(', ')} workers)`);
  const ratioOf = (perWorker) => {
    const counts = perWorker.map((w) => w.responses);
    return Math.min(...counts) > 0 ? `${(Math.max(...counts) / Math.min(...counts)).toFixed(2)}x` : 'a worker served none';
  };
  for (const workers of config.spreadWorkers) {
    for (const mode of config.modes) {
      for (const c of await runSpread(workers, mode)) {
        spread.push(c);
        const counts = c.perWorker.map((w) => w.responses);
        say(
          `  ${workers} workers, ${mode}, ${c.label}: busiest/idlest ${ratioOf(c.perWorker)} (${counts.join(' / ')}; ${((c.requests * 1000) / c.durationMs).toFixed(0)} req/s); from the pool's opening ${ratioOf(c.perWorkerWhole)}`,
        );
      }
    }
  }
}
for (const name of config.systems) {
  coldStarts[name].samples.push(...runs.filter((r) => r.name === name).map((r) => r.coldStartMs));
  coldStarts[name].medianMs = median(coldStarts[name].samples);
  if (coldStarts[name].medianMs !== null) say(`  ${SYSTEMS[name].label}: cold start median ${coldStarts[name].medianMs.toFixed(0)} ms of ${coldStarts[name].samples.length}`);
}
// The last step: upgrades of the primary under load, through the qilin command (benchmarks/upgrade.mjs).
const upgrade =
  Number(option('upgrades')) > 0
    ? await runUpgrades({ upgrades: Number(option('upgrades')), gapMs: config.gapMs, connections: config.connections, modes: config.modes }, tool, say)
    : null;
const finishedAt = new Date();

const cpus = os.cpus();
const results = {
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  durationSec: (finishedAt - startedAt) / 1000,
  command:
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
      : `node benchmarks/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  fullScenario: isFullScenario,
  config,
  machine: {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadTool: tool.version,
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg() },
  },
  coldStarts,
  runs,
  spread,
  upgrade,
};
writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(results, null, 2));
writeFileSync(logPath, logLines.join(''));
say(`Raw results: benchmarks/results/latest.json (log: benchmarks/results/latest.log); took ${results.durationSec.toFixed(0)} s`);
if (docs) writeDocs(results);
