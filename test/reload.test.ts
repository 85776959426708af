import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ReloadError, type ReloadResult } from 'qilin';
import { failureOf, get, isAlive, memoryLogger, nextEvent, pidsOf, portOf, startOrder, testCluster, until, versionedCluster, within } from './helpers.js';

/** Versions answered by `count` new connections (round-robin spreads them over the workers). */
async function versions(port: number, count = 6): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i += 1) seen.add(/version=(\S+)/.exec((await get(port)).body)?.[1] ?? '?');
  return seen;
}

describe('reload', () => {
  it('with settings: the new generation runs with them, and the cluster keeps them; a wrong one is refused and nothing reloads', {
    timeout: 30_000,
  }, async (t) => {
    const { cluster, port } = await versionedCluster(t);
    const dir = await mkdtemp(path.join(tmpdir(), 'qilin-reload-'));
    const other = path.join(dir, 'version');
    await writeFile(other, 'v9');
    const result = await within(10_000, 'the reload with a new env and worker count', cluster.reload({ env: { VERSION_FILE: other }, workers: 3 }));
    assert.equal(result.slots.length, 3);
    assert.deepEqual(await versions(port, 9), new Set(['v9']));
    assert.equal(cluster.options.env.VERSION_FILE, other);
    assert.equal(cluster.options.workers, 3);
    assert.equal(cluster.activeWorkers().filter(Boolean).length, 3);

    const fixed = await failureOf(cluster.reload({ balance: 'round-robin' } as never));
    assert.ok(fixed instanceof TypeError);
    assert.equal((fixed as { option?: string }).option, 'balance');
    assert.match((fixed as Error).message, /a reload cannot change it/);
    const wrong = await failureOf(cluster.reload({ timeout: 'soon' }));
    assert.equal((wrong as { option?: string }).option, 'timeout');
    assert.equal(cluster.generation, 1, 'neither started a reload');

    // Fewer workers: the slots above the count retire once the reload has succeeded.
    await within(10_000, 'the reload to one worker', cluster.reload({ workers: 1 }));
    await until('one worker left', () => cluster.workers().length === 1, 10_000);
    assert.deepEqual(await versions(port, 3), new Set(['v9']), 'the env given before stays');
  });

  it('replaces every worker with the code on disk now, and retires the old ones', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t);
    const oldPids = pidsOf(cluster.workers());
    const starts: number[] = [];
    cluster.on('reloadStart', (info) => starts.push(info.generation));
    await deploy('v2');
    const result = await within(10_000, 'the reload', cluster.reload());
    assert.equal(result.generation, 1);
    assert.equal(result.strategy, 'all');
    assert.deepEqual(result.slots, [
      { slot: 0, generation: 1 },
      { slot: 1, generation: 1 },
    ]);
    assert.ok(result.durationMs >= 0);
    assert.deepEqual(starts, [1]);
    assert.equal(cluster.generation, 1);
    assert.deepEqual(await versions(port), new Set(['v2']));
    await until('the old workers to exit', () => oldPids.every((pid) => !isAlive(pid)) && cluster.workers().length === 2, 5_000);
    assert.ok(oldPids.every((pid) => !isAlive(pid)));
  });

  it('keeps the old workers serving when the new code cannot start, and says why', { timeout: 30_000 }, async (t) => {
    const logger = memoryLogger();
    const { cluster, deploy, port } = await versionedCluster(t, { log: { reloads: true, respawns: true }, logger });
    const oldPids = pidsOf(cluster.workers());
    const failed = nextEvent(cluster, 'reloadFailed');
    await deploy('broken');
    const error = await failureOf(cluster.reload());
    assert.ok(error instanceof ReloadError);
    assert.equal(error.code, 'ERR_QILIN_RELOAD_FAILED');
    assert.equal(error.generation, 1);
    assert.equal(error.start.failure.kind, 'exit');
    assert.ok(
      error.start.stderr.some((line) => line.includes('version broken cannot start')),
      'the new worker’s stderr is in the error',
    );
    assert.deepEqual(error.slots, [
      { slot: 0, generation: 0 },
      { slot: 1, generation: 0 },
    ]);
    assert.equal((await failed)[0], error);
    assert.match(
      logger.lines.join('\n'),
      /Reload to generation 1 failed: slot \d \(pid \d+\) exited with code 1 before it was ready; the previous workers keep serving \(generation 0\)/,
    );
    assert.equal(cluster.generation, 0);
    assert.deepEqual(pidsOf(cluster.activeWorkers()).sort(), oldPids.sort(), 'the same old workers serve');
    assert.deepEqual(await versions(port), new Set(['v1']));
    await until('the failed generation to be gone', () => cluster.workers().length === 2, 5_000);

    await deploy('v3');
    const fixed = await within(10_000, 'the next reload', cluster.reload());
    assert.equal(fixed.generation, 2);
    assert.deepEqual(await versions(port), new Set(['v3']));
  });

  it('aborts when a new worker misses readyTimeout', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { readyTimeout: '1500ms', killTimeout: 0.5 });
    await deploy('hang');
    const started = Date.now();
    const error = await failureOf(cluster.reload());
    assert.ok(Date.now() - started >= 1_500);
    assert.ok(error instanceof ReloadError);
    assert.deepEqual(error.start.failure, { kind: 'timeout', afterMs: 1_500 });
    assert.match(error.message, /was not ready within 1500 ms/);
    assert.deepEqual(await versions(port), new Set(['v1']));
  });

  it('merges reloads asked for while one runs into one more, and answers every caller', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t);
    const starts: number[] = [];
    cluster.on('reloadStart', (info) => starts.push(info.generation));
    await deploy('v2');
    const first = cluster.reload();
    await deploy('v3');
    const rest = [cluster.reload(), cluster.reload(), cluster.reload(), cluster.reload()];
    const results = await within(15_000, 'all five reloads', Promise.all([first, ...rest]));
    assert.deepEqual(
      results.map((r: ReloadResult) => r.generation),
      [1, 2, 2, 2, 2],
    );
    assert.deepEqual(starts, [1, 2], 'two reloads ran, not five');
    assert.deepEqual(await versions(port), new Set(['v3']), 'the merged reload loaded the newest code');
    assert.equal(cluster.workers().length <= 4, true);
  });

  it('answers through a callback as well as a promise', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy } = await versionedCluster(t, { workers: 1 });
    const ok = await new Promise<ReloadResult | undefined>((resolve, reject) => {
      void cluster.reload((error: Error | null, result?: ReloadResult) => (error ? reject(error) : resolve(result)));
    });
    assert.equal(ok?.generation, 1);
    await deploy('broken');
    const error = await new Promise<Error | null>((resolve) => {
      void cluster.reload((e: Error | null) => resolve(e));
    });
    assert.ok(error instanceof ReloadError);
  });

  it('works unbound, as a signal listener, and a failure nobody awaits crashes nothing', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy } = await versionedCluster(t, { workers: 1 });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    process.on('SIGUSR2', cluster.reload);
    // Node 24's test runner turns on diagnostic reports on SIGUSR2 in the test process (`node --test` alone does
    // this), which would write a report.*.json into the checkout for each signal sent below.
    const reportOnSignal = process.report.reportOnSignal;
    process.report.reportOnSignal = false;
    t.after(() => {
      process.report.reportOnSignal = reportOnSignal;
      process.off('SIGUSR2', cluster.reload);
      process.off('unhandledRejection', onUnhandled);
    });
    const ended = nextEvent(cluster, 'reloadEnd');
    process.kill(process.pid, 'SIGUSR2');
    assert.equal((await ended)[0].generation, 1);
    await deploy('broken');
    const failed = nextEvent(cluster, 'reloadFailed');
    process.kill(process.pid, 'SIGUSR2');
    await failed;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
  });

  it('refuses before run() and after shutdown, with a code', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 1 });
    await assert.rejects(cluster.reload(), { code: 'ERR_QILIN_NOT_RUNNING' });
    await cluster.run();
    await cluster.shutdown();
    await assert.rejects(cluster.reload(), { code: 'ERR_QILIN_SHUTTING_DOWN' });
  });

  it('tells every waiting caller when a shutdown cancels their reload', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy } = await versionedCluster(t, { workers: 1, readyTimeout: false });
    await deploy('hang');
    const running = cluster.reload();
    const queued = cluster.reload();
    await nextEvent(cluster, 'fork');
    await within(10_000, 'shutdown', cluster.shutdown());
    await assert.rejects(running, { code: 'ERR_QILIN_SHUTTING_DOWN' });
    await assert.rejects(queued, { code: 'ERR_QILIN_SHUTTING_DOWN' });
    assert.equal(cluster.workers().length, 0);
  });

  it('waits for the first start: a reload and a scale asked for during it run after it, and run() still resolves', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2 });
    const started = cluster.run();
    const reloaded = cluster.reload();
    const scaled = cluster.scale(1);
    await within(10_000, 'the first start', started);
    const result = await within(10_000, 'the reload', reloaded);
    assert.equal(result.generation, 1);
    await within(10_000, 'the scale-down', scaled);
    assert.equal(cluster.activeWorkers().length, 1);
    await until('only the generation-1 worker of slot 0 to be left', () => cluster.workers().length === 1);
    assert.equal(cluster.generation, 1);
  });

  it('fails when a new worker crashes before it takes over, even while that worker still finishes a request', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'crashes-after-reload.cjs', { workers: 2, timeout: 10 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const oldPids = pidsOf(cluster.activeWorkers());
    const newListening = nextEvent(cluster, 'listening', (worker) => !oldPids.includes(worker.process.pid ?? -1));
    let settled = false;
    const outcome = failureOf(cluster.reload()).finally(() => (settled = true));
    await newListening;
    // Connections now go round the two old workers and the held new one in slot 0. A slow request keeps that one
    // draining for 5 s after it crashes, longer than slot 1 takes to become ready (3 s).
    for (let i = 0; i < 3; i += 1) void get(port, '/slow').catch(() => null);
    while (!settled) await get(port, '/crash').catch(() => null);
    const error = await outcome;
    assert.ok(error instanceof ReloadError);
    assert.equal(error.start.slot, 0);
    assert.equal(error.start.failure.kind, 'crash');
    assert.match(error.message, /slot 0 \(pid \d+\) had an uncaught exception \(Error: generation 1 cannot serve \/crash\) before it took over its slot/);
    assert.equal(cluster.generation, 0);
    assert.deepEqual(pidsOf(cluster.activeWorkers()).sort(), oldPids.sort(), 'the old workers keep serving');
    assert.match((await get(port)).body, /generation=0/);
  });

  it('a replacement that a failed reload superseded still happens, with the code on disk', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { workers: 1, readyTimeout: '1500ms', killTimeout: 0.5 });
    const [old] = cluster.activeWorkers();
    await deploy('hang');
    const hanging = nextEvent(cluster, 'message', (_worker, message) => (message as { event?: string }).event === 'hanging');
    const outcome = failureOf(cluster.reload());
    await hanging;
    await deploy('v2');
    // The old worker asks to be replaced while the reload's new worker holds its slot's next place.
    const replace = nextEvent(cluster, 'replace');
    await get(port, '/replace-me');
    assert.deepEqual(await replace, [old, 'requested']);
    assert.ok((await outcome) instanceof ReloadError);
    await until('the worker that asked to be replaced to be replaced', () => {
      const [active] = cluster.activeWorkers();
      return Boolean(active) && active !== old;
    });
    assert.deepEqual(await versions(port, 2), new Set(['v2']));
    assert.equal(cluster.generation, 0);
  });
});

describe('rolling reload', () => {
  it('replaces one slot at a time: the next starts only once the previous slot is served by the new generation', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { workers: 3, strategy: 'rolling' });
    const order = startOrder(cluster);
    await deploy('v2');
    const result = await within(15_000, 'the rolling reload', cluster.reload());
    assert.equal(result.strategy, 'rolling');
    assert.deepEqual(order, ['fork 0', 'ready 0', 'fork 1', 'ready 1', 'fork 2', 'ready 2']);
    assert.deepEqual(await versions(port, 9), new Set(['v2']));
  });

  it('replaces `batch` slots at a time', { timeout: 30_000 }, async (t) => {
    const { cluster } = await versionedCluster(t, { workers: 3, strategy: 'rolling', batch: 2 });
    const order: string[] = [];
    cluster.on('fork', (_worker, slot) => order.push(`fork ${slot}`));
    cluster.on('ready', () => order.push('ready'));
    await within(15_000, 'the rolling reload', cluster.reload());
    assert.deepEqual(order.slice(0, 2).sort(), ['fork 0', 'fork 1']);
    assert.deepEqual(order.slice(2), ['ready', 'ready', 'fork 2', 'ready']);
  });

  it('stops at a failed slot, keeps the old workers there and beyond, and reports who runs what', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { workers: 3, strategy: 'rolling' });
    const before = cluster.activeWorkers();
    await deploy('broken:1');
    const error = await failureOf(cluster.reload());
    assert.ok(error instanceof ReloadError);
    assert.equal(error.start.slot, 1);
    assert.deepEqual(error.slots, [
      { slot: 0, generation: 1 },
      { slot: 1, generation: 0 },
      { slot: 2, generation: 0 },
    ]);
    const after = cluster.activeWorkers();
    assert.notEqual(after[0], before[0], 'slot 0 was replaced before the failure');
    assert.equal(after[1], before[1], 'the failed slot keeps its old worker');
    assert.equal(after[2], before[2], 'the slot not reached keeps its old worker');
    // Each new connection goes to one of 3 workers (by hash with the socket per slot): 9 missed slot 0 in one
    // CI run ((2/3)^9, 2.6%); 90 miss it with a chance of about 1e-16.
    assert.deepEqual(await versions(port, 90), new Set(['v1', 'broken:1']));
  });
});
