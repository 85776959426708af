// Runs recluster 1.0.0's own tap suite against recluster and against Qilin, and compares them case by case.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '..');
const MODULES = path.join(HERE, 'node_modules');
const RECLUSTER = path.join(MODULES, 'recluster');
const TAP = path.join(MODULES, 'tap', 'bin', 'tap.js');

/** The suite listens on these fixed ports (server*.js); another process holding one of them changes the results. */
const PORTS = [8000, 9000, 9001];
/** A run takes 10 to 60 s here, and tap kills a file after 30 s; this bounds a run that hangs anyway. */
const RUN_LIMIT_MS = 240_000;

/** Cases whose outcome differs by design, with the reason (docs/compat.md). Keys are stable: recluster is pinned. */
const BY_DESIGN = {
  'index.js › async server fails if readyWhen = started › #1': "Qilin's 'started' is up and still up 1 s after online (README, Coming from recluster)",
  'termination.js › IPC-disconnecting server via msg › #3': 'a worker that asks to be replaced serves until its replacement is ready',
  'termination.js › IPC-disconnecting server via msg › #4': "recluster's disconnect() takes the worker out of cluster.workers at once (Node 20+)",
};

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    'no-netns': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    qilin: { type: 'string', default: path.join(ROOT, 'dist', 'index.cjs') },
    help: { type: 'boolean', default: false },
  },
});

const QILIN = path.resolve(flags.qilin);
const TARGETS = {
  recluster: RECLUSTER,
  qilin: QILIN,
};

if (flags.help) {
  console.log(`Usage: node compat/recluster.mjs [--runs N] [--no-netns] [--keep] [--qilin FILE]
Runs recluster 1.0.0's tap suite (its test/*.js, unchanged) against recluster and against Qilin (dist/index.cjs)
N times each (default 2), alternating, and compares the best run of each. Exits 1 if Qilin passes fewer cases.
  --runs N     runs per target
  --no-netns   run on the machine's own network even where a private one (unshare) is available; ports
               ${PORTS.join(', ')} must then be free
  --keep       keep each run's folder and raw TAP output (printed at the end)
  --qilin FILE the Qilin build to test (default: dist/index.cjs of this repository)`);
  process.exit(0);
}

const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`Expected \`--runs\` to be a positive integer, got \`${flags.runs}\``);
if (!existsSync(TAP) || !existsSync(path.join(RECLUSTER, 'test'))) fail('compat/node_modules is missing: run `npm --prefix compat ci`');
if (!existsSync(QILIN)) fail(`${QILIN} is missing: run \`npm run build\``);

function fail(message) {
  console.error(`compat: ${message}`);
  process.exit(2);
}

/**
 * The suite's fixed ports are shared with everything else on the machine. Where unprivileged user and network
 * namespaces are allowed, each run gets its own loopback, and its own PID namespace: when the run's first
 * process ends, the kernel ends every process left in it.
 */
function netnsWorks() {
  const probe = spawnSync('unshare', ['-rnpf', '--kill-child', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

async function busyPorts() {
  const busy = [];
  for (const port of PORTS) if (!(await portFree(port))) busy.push(port);
  return busy;
}

/** The suite's own test files, as `tap test/*.js` finds them. */
function testFiles() {
  return readdirSync(path.join(RECLUSTER, 'test'))
    .filter((name) => name.endsWith('.js'))
    .sort()
    .map((name) => `test/${name}`);
}

/**
 * A copy of recluster's test folder next to a one-line index.js: test/lib/index.js requires '../../index.js',
 * so that line decides which library the suite tests. The suite also rewrites test/lib/server.js as it goes,
 * so each run needs its own copy anyway.
 */
function prepare(target) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `qilin-compat-${target}-`));
  cpSync(path.join(RECLUSTER, 'test'), path.join(dir, 'test'), { recursive: true });
  writeFileSync(path.join(dir, 'index.js'), `module.exports = require(${JSON.stringify(TARGETS[target])});\n`);
  return dir;
}

/** The environment of a run: tap from compat/node_modules, and none of tap's or npm's settings that change how it runs. */
function runEnv() {
  const env = { ...process.env, NODE_PATH: MODULES };
  for (const key of Object.keys(env)) {
    if (key.startsWith('TAP') || /^npm_(config|package_config)_coverage$/.test(key)) delete env[key];
  }
  delete env.NODE_ENV; // recluster's and Qilin's default timeout depend on it; the suite's cases set their own.
  return env;
}

/** Processes of a run still alive: in its process group, or started in or from its folder. */
function leftovers(dir, pgid) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const inGroup = Number(fields[2]) === pgid;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // Another user's process, or one that has just exited.
      }
      if (inGroup || cmdline.includes(dir) || cwd.startsWith(dir)) found.push(Number(entry));
    } catch {
      // It exited while being read.
    }
  }
  return found;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ends whatever a run left behind, by pid, and says how many there were once the run itself had ended. */
async function cleanUp(dir, pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // The group is already empty.
  }
  const strays = new Set();
  for (let waited = 0; waited < 5_000; waited += 100) {
    const alive = leftovers(dir, pgid);
    if (alive.length === 0) return strays.size;
    for (const pid of alive) {
      strays.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await sleep(100);
  }
  const alive = leftovers(dir, pgid);
  if (alive.length > 0) fail(`processes of the run in ${dir} are still alive after SIGKILL: ${alive.join(', ')}`);
  return strays.size;
}

/** The run under way (its process group and folder): the group is detached, so Ctrl-C does not reach it unless passed on. */
const current = { pgid: null, dir: null };
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (current.pgid !== null) {
      try {
        process.kill(-current.pgid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (current.dir !== null && !flags.keep) rmSync(current.dir, { recursive: true, force: true });
    process.exit(130);
  });
}

function runSuite(dir, files, isolated) {
  const args = [TAP, '--tap', ...files];
  const [command, argv] = isolated
    ? ['unshare', ['-rnpf', '--kill-child', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...args]]
    : [process.execPath, args];
  return new Promise((resolve) => {
    const started = performance.now();
    // Its own process group, so that every process of the run, workers included, can be ended at once.
    const child = spawn(command, argv, { cwd: dir, env: runEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    current.pgid = child.pid;
    current.dir = dir;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const limit = setTimeout(() => {
      stderr += `\ncompat: the run took more than ${RUN_LIMIT_MS / 1000} s and was killed\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, RUN_LIMIT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      current.pgid = null;
      resolve({ pgid: child.pid, code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/**
 * Reads tap's output into cases. A case is one assertion, keyed by file, top-level test and its position in
 * that test (descriptions such as "response should have error: ..." embed what happened), plus one per file
 * for its exit status, as tap counts them.
 */
function parseTap(output, files) {
  const fileNames = new Set(files.map((file) => path.basename(file)));
  const cases = [];
  const lines = output.split('\n');
  let file = '';
  let test = '';
  let ordinal = 0;
  let last = null;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const comment = /^# (.*)$/.exec(line);
    if (comment) {
      const text = comment[1];
      if (fileNames.has(text)) {
        file = text;
        test = '';
      } else if (lines[i + 1] === '# -> setup') {
        test = text;
        ordinal = 0;
      }
      continue;
    }
    const point = /^(not )?ok \d+ ?(.*)$/.exec(line);
    if (point) {
      const [, not, description] = point;
      const isFile = files.includes(description);
      if (isFile) {
        last = { key: `${path.basename(description)} › (the file exits 0)`, description: '', passed: !not };
        file = '';
        test = '';
      } else {
        ordinal += 1;
        last = { key: `${file} › ${test} › #${ordinal}`, description, passed: !not };
      }
      cases.push(last);
      continue;
    }
    const detail = /^ {4}(found|wanted|doNotWant|exit|timedOut|signal): +(.*)$/.exec(line);
    if (detail && last && !last.passed) last[detail[1]] = detail[2];
  }
  return cases;
}

function outcomeText(result) {
  const got = [];
  if (result.doNotWant !== undefined) got.push(`found ${result.found}, which it should not be`);
  else if (result.found !== undefined) got.push(`found ${result.found}, wanted ${result.wanted}`);
  if (result.timedOut !== undefined) got.push('timed out');
  if (result.exit !== undefined) got.push(`exit ${result.exit}`);
  if (result.signal !== undefined) got.push(`signal ${result.signal}`);
  return got.length > 0 ? got.join('; ') : `"${result.description}"`;
}

/** The suite's cases are timed (a worker must be gone 420 ms after it asked): a busy machine fails some of them, on both targets. */
function loadAverage() {
  return os.loadavg().map((n) => n.toFixed(1)).join(' ');
}

async function main() {
  const files = testFiles();
  const isolated = !flags['no-netns'] && process.platform === 'linux' && netnsWorks();
  if (!isolated) {
    const busy = await busyPorts();
    if (busy.length > 0) {
      fail(`port ${busy.join(', ')} is in use by another process; the suite listens on ${PORTS.join(', ')} (free them, or allow unshare)`);
    }
  }
  const version = JSON.parse(readFileSync(path.join(RECLUSTER, 'package.json'), 'utf8')).version;
  const tapVersion = JSON.parse(readFileSync(path.join(MODULES, 'tap', 'package.json'), 'utf8')).version;
  console.log(
    `recluster ${version}'s suite (tap ${tapVersion}: ${files.join(' ')}), Node ${process.version}, ` +
      `${isolated ? 'each run on its own loopback (unshare)' : 'on the machine network'}, ${runs} run(s) per target, ` +
      `${os.availableParallelism()} CPUs, load average ${loadAverage()}`,
  );

  const results = { recluster: [], qilin: [] };
  const kept = [];
  const began = performance.now();
  for (let run = 1; run <= runs; run += 1) {
    // Alternating the targets spreads any change in the machine's load over both.
    for (const target of Object.keys(TARGETS)) {
      const dir = prepare(target);
      const outcome = await runSuite(dir, files, isolated);
      const strays = await cleanUp(dir, outcome.pgid);
      const cases = parseTap(outcome.stdout, files);
      const passed = cases.filter((c) => c.passed).length;
      results[target].push({ cases, passed });
      const timedOut = cases.filter((c) => c.timedOut !== undefined).map((c) => c.key.split(' › ')[0]);
      console.log(
        `  ${target.padEnd(9)} run ${run}: ${passed} passed, ${cases.length - passed} failed in ${outcome.seconds.toFixed(1)} s` +
          (timedOut.length > 0 ? `; ${timedOut.join(', ')} hung, killed by tap after 30 s with the rest of its cases unrun` : '') +
          (strays > 0 ? `; ${strays} leftover process(es) killed` : ''),
      );
      // No case at all from any file: the library under test did not load (a missing build, a module that throws).
      if (!cases.some((c) => !c.key.endsWith('(the file exits 0)'))) {
        const error = outcome.stderr.split('\n').find((line) => /Error\b/.test(line)) ?? outcome.stderr.trim().split('\n').at(-1);
        console.log(`    no case ran: ${error?.trim() || 'nothing on stderr'}`);
      }
      if (flags.keep) {
        writeFileSync(path.join(dir, 'tap-stdout.txt'), outcome.stdout);
        writeFileSync(path.join(dir, 'tap-stderr.txt'), outcome.stderr);
        kept.push(dir);
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
      current.dir = null;
      if (!isolated) {
        const busy = await busyPorts();
        if (busy.length > 0) fail(`port ${busy.join(', ')} still in use after the ${target} run`);
      }
    }
  }

  // Per case: in how many runs it passed on each target; a case missing from a run (its file died early) failed there.
  const keys = [];
  const info = new Map();
  for (const target of Object.keys(TARGETS)) {
    for (const { cases } of results[target]) {
      for (const c of cases) {
        if (!info.has(c.key)) {
          keys.push(c.key);
          info.set(c.key, { description: c.description, recluster: 0, qilin: 0, got: new Set() });
        }
        const entry = info.get(c.key);
        if (c.passed) entry[target] += 1;
        else if (target === 'qilin') entry.got.add(outcomeText(c));
      }
    }
  }
  const best = Object.fromEntries(Object.entries(results).map(([target, list]) => [target, Math.max(...list.map((r) => r.passed))]));
  console.log(
    `\nBest of ${runs}: recluster ${best.recluster}/${keys.length}, qilin ${best.qilin}/${keys.length} ` +
      `(${((performance.now() - began) / 1000).toFixed(0)} s in all; load average now ${loadAverage()})`,
  );
  const differing = keys.filter((key) => info.get(key).recluster !== info.get(key).qilin);
  if (differing.length === 0) {
    console.log('Every case has the same outcome on both targets.');
  } else {
    console.log(`\nCases whose outcome differs (runs passed of ${runs}):\n`);
    console.log('| case | recluster | qilin | qilin when failing | by design |');
    console.log('| --- | ---: | ---: | --- | --- |');
    for (const key of differing) {
      const entry = info.get(key);
      const label = entry.description ? `${key} ${entry.description}` : key;
      console.log(`| ${label} | ${entry.recluster}/${runs} | ${entry.qilin}/${runs} | ${[...entry.got].join('; ')} | ${BY_DESIGN[key] ?? ''} |`);
    }
  }
  if (kept.length > 0) console.log(`\nRun folders and raw TAP output:\n${kept.map((dir) => `  ${dir}`).join('\n')}`);

  if (best.qilin < best.recluster) {
    console.log(`\nQilin passes fewer cases than recluster (${best.qilin} < ${best.recluster}).`);
    process.exitCode = 1;
  }
}

await main();
