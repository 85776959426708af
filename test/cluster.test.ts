import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { STARTED_WINDOW, StartError, recluster } from 'qilin';
import { fixture, get, getFrom, isAlive, memoryLogger, nextEvent, parseIdentity, pidsOf, portOf, testCluster, until, within } from './helpers.js';
import { freePort } from './cli/helpers.js';

describe('run', () => {
  it('forks one worker per slot, with WORKER_ID set to the slot', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'reports-slot.cjs', { workers: 3 });
    const port = portOf(cluster);
    // Each worker tells its WORKER_ID over IPC: which worker takes a connection is the kernel's choice.
    const told = new Map<number, number>();
    cluster.on('message', (worker, message) => {
      const { event, slot, pid } = message as { event?: string; slot: number; pid: number };
      if (event === 'identity' && worker.process.pid === pid) told.set(slot, pid);
    });
    await within(10_000, 'three ready workers', cluster.run());
    await until('every worker to tell its WORKER_ID', () => told.size === 3, 5_000);
    const active = cluster.activeWorkers();
    assert.equal(active.length, 3);
    assert.equal(cluster.workers().length, 3);
    assert.deepEqual([...told.keys()].sort(), [0, 1, 2]);
    for (const [slot, pid] of told) assert.equal(active[slot]?.process.pid, pid, `slot ${slot} is served by its active worker`);
    const { slot, pid } = parseIdentity((await get(await port)).body);
    assert.equal(told.get(slot), pid, 'a request is answered by a worker with the WORKER_ID it told');
  });

  it('does nothing more when called twice', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2 });
    let forks = 0;
    cluster.on('fork', () => (forks += 1));
    const first = cluster.run();
    assert.equal(cluster.run(), first);
    await within(10_000, 'two ready workers', first);
    assert.equal(forks, 2);
  });

  it('runs the workers with the args, execArgv, env and cwd given', { timeout: 30_000 }, async (t) => {
    process.env.REMOVED = 'from the primary';
    t.after(() => delete process.env.REMOVED);
    const cluster = testCluster(t, 'reports-argv.cjs', {
      workers: 1,
      args: ['--flag', 'value'],
      execArgv: ['--no-warnings'],
      env: { EXTRA: 'yes', REMOVED: undefined },
      cwd: '/tmp',
    });
    const port = portOf(cluster);
    await cluster.run();
    const report = JSON.parse((await get(await port)).body);
    assert.deepEqual(report.argv, ['--flag', 'value']);
    assert.ok(report.execArgv.includes('--no-warnings'), 'the user execArgv is kept');
    assert.ok(report.execArgv.includes('--require'), 'the runtime is preloaded too');
    assert.equal(report.runtime, true);
    assert.equal(report.cwd, '/tmp');
    assert.deepEqual(report.env, { WORKER_ID: '0', QILIN_GENERATION: '0', EXTRA: 'yes' });
  });

  it('can run without the worker runtime', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'reports-argv.cjs', { workers: 1, runtime: false });
    const port = portOf(cluster);
    await cluster.run();
    const report = JSON.parse((await get(await port)).body);
    assert.deepEqual(report.execArgv, []);
    assert.equal(report.runtime, false);
    const reloaded = await within(10_000, 'a reload without the runtime', cluster.reload());
    assert.equal(reloaded.generation, 1);
  });

  it('rejects with the reason and keeps respawning when the first workers cannot start', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'crash-at-start.cjs', { workers: 1, respawn: 0.05 });
    const errors: Error[] = [];
    cluster.on('error', (error) => errors.push(error));
    const respawned = nextEvent(cluster, 'respawn');
    const error = await within(
      10_000,
      'run() to reject',
      cluster.run().then(
        () => null,
        (e: unknown) => e,
      ),
    );
    assert.ok(error instanceof StartError);
    assert.equal(error.code, 'ERR_QILIN_START_FAILED');
    assert.deepEqual(error.start.failure, { kind: 'exit', code: 1, signal: null });
    assert.equal(error.start.slot, 0);
    assert.ok(
      error.start.stderr.some((line) => line.includes('cannot connect to the database')),
      'the last stderr lines say why',
    );
    assert.match(error.message, /slot 0 \(pid \d+\) exited with code 1 before it was ready[\s\S]*cannot connect to the database/);
    assert.deepEqual(errors, [error]);
    const [slot, delay] = await respawned;
    assert.deepEqual([slot, delay], [0, 50]);
  });

  it('kills a worker that is not ready within readyTimeout, and says so', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'never-ready.cjs', { workers: 1, readyTimeout: '300ms', killTimeout: 0.5, respawn: 5 });
    const exited = nextEvent(cluster, 'exit');
    const started = Date.now();
    const error = await cluster.run().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof StartError);
    assert.deepEqual(error.start.failure, { kind: 'timeout', afterMs: 300 });
    assert.ok(Date.now() - started >= 300);
    const [, , signal] = await exited;
    assert.equal(signal, 'SIGTERM');
  });
});

describe('readiness', () => {
  it("'listening': one readiness per worker, however often it listens", { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'listens-twice.cjs', { workers: 2 });
    let listening = 0;
    let ready = 0;
    cluster.on('listening', () => (listening += 1));
    cluster.on('ready', () => (ready += 1));
    await cluster.run();
    await until('both workers listened twice', () => listening === 4);
    assert.equal(ready, 2);
    await within(10_000, 'a reload', cluster.reload());
    await until('the new workers listened twice', () => listening === 8);
    assert.equal(ready, 4);
  });

  it("'started': ready once the worker has stayed up for the window", { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'idle-worker.cjs', { workers: 1, readyWhen: 'started' });
    const online = nextEvent(cluster, 'online');
    const started = cluster.run();
    await online;
    const onlineAt = Date.now();
    await within(10_000, 'the worker to count as started', started);
    assert.ok(Date.now() - onlineAt >= STARTED_WINDOW - 50, 'not before the window');
  });

  it("'started': a worker that exits within the window never counted as started", { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'exits-soon.cjs', { workers: 1, readyWhen: 'started', respawn: 10 });
    let ready = 0;
    cluster.on('ready', () => (ready += 1));
    const error = await cluster.run().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof StartError);
    assert.deepEqual(error.start.failure, { kind: 'exit', code: 0, signal: null });
    assert.equal(ready, 0);
  });

  it("'ready': waits for the worker's message, not for listen", { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'ready-message.cjs', { workers: 1, readyWhen: 'ready', env: { READY_DELAY: '400' } });
    const listening = nextEvent(cluster, 'listening');
    const ready = nextEvent(cluster, 'ready');
    void cluster.run();
    await listening;
    const listenedAt = Date.now();
    assert.equal(cluster.activeWorkers()[0], null, 'listening alone does not make it ready');
    const [worker, detail] = await ready;
    assert.ok(Date.now() - listenedAt >= 200);
    assert.deepEqual(detail, { cmd: 'ready' });
    assert.equal(cluster.activeWorkers()[0], worker);
  });
});

describe('respawn', () => {
  it('refills a slot whose worker died, with the same WORKER_ID', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, respawn: 0.1 });
    await cluster.run();
    const victim = cluster.activeWorkers()[1];
    assert.ok(victim);
    const respawn = nextEvent(cluster, 'respawn');
    const replaced = nextEvent(cluster, 'ready', (worker) => worker !== victim);
    victim.process.kill('SIGKILL');
    const [slot, delay, previous] = await respawn;
    assert.deepEqual([slot, delay, previous], [1, 100, victim]);
    const [worker] = await replaced;
    assert.equal(cluster.activeWorkers()[1], worker);
    assert.equal(cluster.workers().length, 2);
  });

  it('backs off per slot: a broken slot waits longer each time, the other keeps serving', { timeout: 30_000 }, async (t) => {
    const logger = memoryLogger();
    const cluster = recluster(fixture('crash-in-slot.cjs'), {
      workers: 2,
      respawn: 0.05,
      backoff: 0.4,
      env: { CRASH_SLOT: '1' },
      logger,
    });
    t.after(() => cluster.terminate());
    const delays: number[] = [];
    cluster.on('respawn', (slot, delay) => {
      assert.equal(slot, 1, 'only the broken slot respawns');
      delays.push(delay);
    });
    void cluster.run();
    await until('five respawns of slot 1', () => delays.length >= 5);
    assert.deepEqual(delays.slice(0, 5), [50, 100, 200, 400, 400]);
    assert.ok(cluster.activeWorkers()[0], 'slot 0 is served throughout');
    assert.match(logger.lines[0] ?? '', /^qilin: slot 1 \(pid \d+\) exited with code 1 before it was ready; respawning slot 1 in 50 ms$/);
  });
});

describe('replacement on request', () => {
  it("a worker's {cmd: 'disconnect'} gets it a replacement, then it is retired", { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'asks-to-be-replaced.cjs', { workers: 1 });
    const port = portOf(cluster);
    await cluster.run();
    const old = cluster.activeWorkers()[0];
    assert.ok(old);
    const replace = nextEvent(cluster, 'replace');
    const fresh = nextEvent(cluster, 'ready', (worker) => worker !== old);
    const oldExit = nextEvent(cluster, 'exit', (worker) => worker === old);
    await get(await port, '/replace-me');
    const [worker, reason] = await replace;
    assert.deepEqual([worker, reason], [old, 'requested']);
    const [replacement] = await fresh;
    await oldExit;
    assert.equal(cluster.activeWorkers()[0], replacement);
    assert.equal(parseIdentity((await get(await port)).body).pid, replacement.process.pid);
  });

  it('a worker that disconnects itself gets a replacement at once', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'disconnects-itself.cjs', { workers: 2 });
    const port = portOf(cluster);
    await cluster.run();
    const replace = nextEvent(cluster, 'replace');
    const reply = await get(await port, '/leave');
    const pid = Number(/pid=(\d+)/.exec(reply.body)?.[1]);
    const [worker, reason] = await replace;
    assert.equal(worker.process.pid, pid);
    assert.equal(reason, 'disconnected');
    await until('both slots to be served, the leaver gone', () => cluster.activeWorkers().every(Boolean) && !cluster.workers().includes(worker));
    assert.ok(!cluster.activeWorkers().includes(worker));
  });
});

describe('replacement on request, for a worker that stays up (recluster timing)', () => {
  it('one that disconnected itself is sent SIGTERM `timeout` after it disconnected', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'disconnects-itself.cjs', { workers: 1, timeout: 0.3, env: { LINGER: '1' } });
    const port = portOf(cluster);
    await cluster.run();
    const [old] = cluster.activeWorkers();
    const exit = nextEvent(cluster, 'exit', (worker) => worker === old);
    const replaced = nextEvent(cluster, 'replace');
    await get(await port, '/leave');
    await replaced;
    const since = Date.now();
    // Within killTimeout (5 s): before, SIGTERM came only at timeout + killTimeout.
    const [, , signal] = await within(3_000, 'the lingering worker to be ended', exit);
    assert.equal(signal, 'SIGTERM');
    assert.ok(Date.now() - since >= 250, 'not before its timeout');
  });

  it("one that sent {cmd: 'disconnect'} is sent SIGTERM `timeout` after it asked, once its replacement took over", { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'asks-to-be-replaced.cjs', { workers: 1, timeout: 1.5, env: { LINGER: '1' } });
    const port = portOf(cluster);
    await cluster.run();
    const [old] = cluster.activeWorkers();
    const exit = nextEvent(cluster, 'exit', (worker) => worker === old);
    const fresh = nextEvent(cluster, 'ready', (worker) => worker !== old);
    const asked = Date.now();
    await get(await port, '/replace-me');
    await fresh;
    const tookOver = Date.now();
    const [, , signal] = await within(5_000, 'the lingering worker to be ended', exit);
    assert.equal(signal, 'SIGTERM');
    // recluster's kill timeout, counted from the request (test/supervisor/ checks that, on a mocked clock).
    assert.ok(Date.now() - asked >= 1_400, `not before its timeout (${Date.now() - asked} ms after it asked)`);
    assert.ok(tookOver >= asked);
  });
});

describe('scale', () => {
  it('refuses more than 1024 workers by name, as the `workers` option does, and keeps its workers', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 1 });
    await within(10_000, 'the first start', cluster.run());
    for (const workers of [1025, 1e6, -1, 1.5]) {
      await assert.rejects(cluster.scale(workers), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_QILIN_INVALID_OPTION');
        assert.match(error.message, /^Expected `workers` to be an integer from 0 to 1024, got /);
        return true;
      });
    }
    assert.equal(cluster.activeWorkers().length, 1);
  });
});

describe('stopping', () => {
  it('terminate() kills every worker at once and calls back', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'ignores-sigterm.cjs', { workers: 2 });
    await cluster.run();
    const pids = pidsOf(cluster.workers());
    await within(
      5_000,
      'terminate to call back',
      new Promise<void>((resolve, reject) => {
        void cluster.terminate((error: Error | null) => (error ? reject(error) : resolve()));
      }),
    );
    assert.ok(pids.every((pid) => !isAlive(pid)));
    assert.equal(cluster.workers().length, 0);
  });

  it('stop() leaves the workers running and stops respawning them', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, respawn: 0 });
    await cluster.run();
    const [a, b] = cluster.workers();
    assert.ok(a && b);
    t.after(() => {
      for (const worker of [a, b]) if (isAlive(worker.process.pid)) worker.process.kill('SIGKILL');
    });
    let events = 0;
    cluster.on('respawn', () => (events += 1));
    cluster.on('exit', () => (events += 1));
    cluster.stop();
    const exited = new Promise((resolve) => a.once('exit', resolve));
    a.process.kill('SIGKILL');
    await within(5_000, 'the killed worker to exit', exited);
    assert.ok(isAlive(b.process.pid), 'the other worker runs on');
    assert.equal(events, 0, 'no events and no respawn after stop()');
    await assert.rejects(cluster.reload(), { code: 'ERR_QILIN_SHUTTING_DOWN' });
  });

  it('shutdown() lets in-flight requests finish, then every worker exits', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, timeout: 5 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const pids = pidsOf(cluster.workers());
    const arrived = nextEvent(cluster, 'message');
    const slow = get(port, '/slow?ms=700');
    await arrived;
    const started = Date.now();
    await within(10_000, 'shutdown', cluster.shutdown());
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.ok(Date.now() - started >= 400, 'shutdown waited for the slow request');
    assert.ok(pids.every((pid) => !isAlive(pid)));
    await assert.rejects(cluster.reload(), { code: 'ERR_QILIN_SHUTTING_DOWN' });
  });

  it('shutdown() ends a worker that ignores SIGTERM with SIGKILL after killTimeout', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'ignores-sigterm.cjs', { workers: 1, timeout: 0.2, killTimeout: 0.3 });
    await cluster.run();
    const exit = nextEvent(cluster, 'exit');
    const started = Date.now();
    await within(10_000, 'shutdown', cluster.shutdown());
    const [, , signal] = await exit;
    assert.equal(signal, 'SIGKILL');
    assert.ok(Date.now() - started >= 500, 'SIGKILL only after timeout + killTimeout');
  });

  it('await using shuts the cluster down', { timeout: 30_000 }, async (t) => {
    let pids: number[] = [];
    {
      await using cluster = testCluster(t, 'http-server.cjs', { workers: 1 });
      await cluster.run();
      pids = pidsOf(cluster.workers());
    }
    assert.ok(pids.length === 1 && !isAlive(pids[0]));
  });
});

describe('several clusters in one primary', () => {
  it('each forks its own script and sees only its own workers', { timeout: 30_000 }, async (t) => {
    // Workers listening on port 0 share one port across clusters, as node:cluster keys handles by address: b uses a socket.
    const socketPath = path.join(await mkdtemp(path.join(tmpdir(), 'qilin-')), 'other.sock');
    const a = testCluster(t, 'http-server.cjs', { workers: 2 });
    const b = testCluster(t, 'other-app.cjs', { workers: 1, env: { SOCKET_PATH: socketPath } });
    const seenByA = new Set<unknown>();
    const seenByB = new Set<unknown>();
    for (const event of ['fork', 'online', 'listening', 'ready', 'exit'] as const) {
      a.on(event, (...args) => {
        seenByA.add(args[0]);
      });
      b.on(event, (...args) => {
        seenByB.add(args[0]);
      });
    }
    await Promise.all([a.run(), b.run()]);
    assert.match((await getFrom({ socketPath })).body, /^other slot=0$/);
    assert.equal(a.workers().length, 2);
    assert.equal(b.workers().length, 1);
    assert.ok([...seenByB].every((w) => b.workers().includes(w as never)));
    assert.ok([...seenByA].every((w) => a.workers().includes(w as never)));
    await within(10_000, 'a reload of b', b.reload());
    await b.shutdown();
    assert.equal(a.workers().length, 2, "b's reload and shutdown left a's workers alone");
    assert.ok(a.activeWorkers().every(Boolean));
  });

  it("each balances its own way with the runtime, whatever node:cluster's one scheduling policy", { timeout: 30_000 }, async (t) => {
    const kernelPort = await freePort();
    const relayedPort = await freePort();
    const kernel = testCluster(t, 'http-server.cjs', { workers: 1, balance: 'kernel', env: { PORT: String(kernelPort) } });
    await within(10_000, 'the kernel cluster', kernel.run());
    const relayed = testCluster(t, 'http-server.cjs', { workers: 2, balance: 'round-robin', env: { PORT: String(relayedPort) } });
    await within(10_000, 'the round-robin cluster', relayed.run());
    assert.deepEqual([kernel.balance, relayed.balance], ['kernel', 'round-robin']);
    // The primary relays each new connection to the next worker: strictly in turn.
    const pids: string[] = [];
    for (let i = 0; i < 6; i += 1) pids.push(/pid=(\d+)/.exec((await get(relayedPort, '/', false)).body)?.[1] ?? '');
    assert.equal(new Set(pids).size, 2, pids.join(' '));
    assert.ok(
      pids.every((pid, i) => i < 2 || pid === pids[i - 2]),
      `in turn: ${pids.join(' ')}`,
    );
    assert.match((await get(kernelPort)).body, /^slot=0 /);
  });
});
