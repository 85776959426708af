// Upgrades of the primary under load: the qilin command with 2 workers of the benchmark's app, wrk in each client mode, `--upgrades` upgrades one after another (SIGUSR1, each once the previous old primary has exited), every lost request counted as in the reload phase. run.mjs runs it as its last step; run alone, it adds its figures to benchmarks/results/latest.json (`upgrade`) and writes docs/benchmarks.md again from that file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { drawChart } from './lib/chart.mjs';
import { findLoadTool } from './lib/load.mjs';
import { writeReport } from './lib/report.mjs';
import { startQilin } from './lib/command.mjs';
import { freePort, lostOf, median, sleep, throughputOf } from './lib/util.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = path.join(ROOT, 'dist', 'cli.js');
const APP = new URL('./app.cjs', import.meta.url).pathname;
const RESULTS = path.join(ROOT, 'benchmarks', 'results', 'latest.json');

const UPGRADE_DEFAULTS = { upgrades: 10, gapMs: 1000, connections: 32, modes: ['keep-alive', 'close'], bucketMs: 100, timeoutSec: 2, balance: null };
/** The reload phase's systems run with the library's development timeout; the command gets the same. */
const TIMEOUT = '1s';
/** How long an upgrade may take before the step fails: what qilin itself allows a new primary (readyTimeout, 60 s, and 15 s to start). */
const UPGRADE_WAIT_MS = 80_000;
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function runMode(mode, config, tool, log) {
  const port = await freePort();
  // No --balance: the command's default (a socket per slot on Linux), unless one is asked for.
  const balance = config.balance ? ['--balance', config.balance] : [];
  const qilin = startQilin(['-w', '2', ...balance, '--timeout', TIMEOUT, '--log-format', 'json', '--env', `PORT=${port}`, APP]);
  await qilin.waitFor('started');
  const running = tool.start({
    url: `http://127.0.0.1:${port}/`,
    connections: config.connections,
    keepAlive: mode === 'keep-alive',
    durationSec: null,
    bucketMs: config.bucketMs,
    timeoutSec: config.timeoutSec,
  });
  await sleep(1000 + (running.startAt - Date.now()));
  let primary = qilin.child.pid;
  const upgradeMs = [];
  let slowest = null;
  try {
    for (let i = 0; i < config.upgrades; i += 1) {
      const from = qilin.records.length;
      const askedAt = Date.now();
      process.kill(primary, 'SIGUSR1');
      const upgraded = await qilin.waitFor('upgraded', from, UPGRADE_WAIT_MS).catch((error) => {
        const said = qilin.records.slice(from).map((r) => `  ${r.time} ${r.msg}`);
        throw new Error(`upgrade ${i + 1} (${mode}): ${error.message}; qilin said:\n${said.join('\n')}`);
      });
      const took = Date.now() - askedAt;
      upgradeMs.push(took);
      // What qilin said during the slowest upgrade, with when (ms after the signal): where the time went.
      if (slowest === null || took > slowest.ms) {
        const said = qilin.records.slice(from).filter((r) => r.event !== 'request');
        slowest = { ms: took, timeline: said.map((r) => `+${Date.parse(r.time) - askedAt} ms ${r.event}: ${r.msg}`) };
      }
      const old = primary;
      primary = upgraded.pid;
      for (let waited = 0; alive(old) && waited < 15_000; waited += 20) await sleep(20);
      await sleep(config.gapMs);
    }
  } catch (error) {
    // A failed step leaves nothing running: not the load (its wrk runs for an hour), not the primary.
    await running.stop().catch(() => {});
    qilin.stopAll();
    throw error;
  }
  // Long enough for the last old primary's workers to have finished.
  await sleep(2000);
  const phase = await running.stop();
  process.kill(primary, 'SIGTERM');
  for (let waited = 0; alive(primary) && waited < 15_000; waited += 20) await sleep(20);
  const failed = qilin.records.filter((r) => r.event === 'upgradeFailed').length;
  const result = {
    mode,
    upgrades: upgradeMs.length,
    failedUpgrades: failed,
    lost: lostOf(phase),
    failures: phase.failures,
    requests: phase.requests,
    rps: throughputOf(phase),
    upgradeMs: { median: median(upgradeMs), max: Math.max(...upgradeMs) },
    slowest,
  };
  log(`  ${mode}: ${result.lost} lost during ${result.upgrades} upgrades (median ${result.upgradeMs.median} ms to the new primary serving, max ${result.upgradeMs.max} ms)`);
  if (slowest && slowest.ms > 3 * result.upgradeMs.median) log(`    the slowest, ${slowest.ms} ms:\n${slowest.timeline.map((line) => `      ${line}`).join('\n')}`);
  return result;
}

/** Runs the upgrade phase in each mode; resolves with its figures (`modes[mode]`) and settings. */
export async function runUpgrades(options = {}, tool = findLoadTool('auto'), log = console.log) {
  const config = { ...UPGRADE_DEFAULTS, ...options, timeout: TIMEOUT };
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  log(`Upgrades of the primary under load: qilin command, 2 workers, balance ${config.balance ? `'${config.balance}'` : 'the default'}, ${config.upgrades} upgrades per mode, load from ${tool.name}`);
  const upgrade = { config, startedAt: new Date().toISOString(), node: process.version, modes: {} };
  for (const mode of config.modes) upgrade.modes[mode] = await runMode(mode, config, tool, log);
  return upgrade;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Interrupted: the 'exit' hooks stop every primary started.
  process.once('SIGINT', () => process.exit(130));
  const { values: flags } = parseArgs({
    options: {
      upgrades: { type: 'string', default: String(UPGRADE_DEFAULTS.upgrades) },
      gap: { type: 'string', default: String(UPGRADE_DEFAULTS.gapMs) },
      modes: { type: 'string', default: UPGRADE_DEFAULTS.modes.join(',') },
      connections: { type: 'string', default: String(UPGRADE_DEFAULTS.connections) },
      balance: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const upgrade = await runUpgrades({
    upgrades: Number(flags.upgrades),
    gapMs: Number(flags.gap),
    connections: Number(flags.connections),
    modes: flags.modes.split(',').filter(Boolean),
    balance: flags.balance ?? null,
  });
  if (existsSync(RESULTS)) {
    const results = JSON.parse(readFileSync(RESULTS, 'utf8'));
    results.upgrade = { ...upgrade, command: `node benchmarks/upgrade.mjs ${process.argv.slice(2).join(' ')}`.trim() };
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    if (!flags['no-docs']) {
      mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      writeFileSync(path.join(ROOT, 'docs', 'benchmarks-reload.svg'), drawChart(results));
      writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), writeReport(results));
      console.log('Wrote the upgrade figures into benchmarks/results/latest.json, and docs/benchmarks.md from it');
    }
  } else {
    console.log(JSON.stringify(upgrade, null, 2));
    console.log('No benchmarks/results/latest.json to add these to: run npm run bench first for docs/benchmarks.md');
  }
}
