// The supervisor's transitions, driven in-process: fake workers, mocked timers, every state entered and left through the events that move it.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ReloadError, StartError } from '../../src/errors.js';
import { type ClusterOptions, resolveChanges } from '../../src/options.js';
import { runReload } from '../../src/reload/run.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { type FakeWorker, fakeHost } from './fake-worker.js';

/** Lets promise callbacks run (the supervisor's batches settle through them). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
};

function setup(options: ClusterOptions = {}) {
  const fake = fakeHost({ workers: 2, timeout: 2, killTimeout: 1, respawn: 1, ...options });
  const supervisor = new Supervisor(fake.host);
  const stateOf = (worker: FakeWorker | undefined) => supervisor.describe().find((info) => info.pid === worker?.process.pid)?.state ?? 'exited';
  const active = () => supervisor.activeWorkers().map((worker) => worker?.process.pid ?? null);
  return { ...fake, supervisor, stateOf, active };
}

/** Two ready workers, with the runtime. */
async function running(options: ClusterOptions = {}) {
  const s = setup(options);
  const started = s.supervisor.scaleTo(2);
  for (const worker of s.forks) worker.boot().listen();
  await started;
  return s;
}

const sentCommands = (worker: FakeWorker) => worker.sent.map((m) => (typeof m === 'object' && m !== null ? (m as { cmd?: string }).cmd : m));

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] }));
afterEach(() => mock.timers.reset());

describe('supervisor: starting', () => {
  it('starting → ready on the first listen: the worker takes its slot', async () => {
    const s = setup();
    const started = s.supervisor.scaleTo(2);
    assert.deepEqual(
      s.forks.map((w) => [w.slot, w.generation, s.stateOf(w)]),
      [
        [0, 0, 'starting'],
        [1, 0, 'starting'],
      ],
    );
    for (const worker of s.forks) worker.boot().listen();
    await started;
    assert.deepEqual(
      s.forks.map((w) => s.stateOf(w)),
      ['ready', 'ready'],
    );
    assert.deepEqual(
      s.active(),
      s.forks.map((w) => w.process.pid),
    );
    assert.equal(s.seen('ready').length, 2);
  });

  it('starting → retiring at readyTimeout: SIGTERM, SIGKILL killTimeout later, the first start fails, the slot respawns after its delay', async () => {
    const s = setup({ workers: 1, readyTimeout: '3s' });
    const started = s.supervisor.scaleTo(1).then(
      () => null,
      (error: unknown) => error,
    );
    const [worker] = s.forks;
    worker?.boot();
    mock.timers.tick(3_000);
    assert.equal(s.stateOf(worker), 'retiring');
    assert.deepEqual(worker?.signals, ['SIGTERM']);
    const error = await started;
    assert.ok(error instanceof StartError);
    assert.deepEqual(error.start.failure, { kind: 'timeout', afterMs: 3_000 });
    assert.deepEqual(
      s.seen('respawn').map(([slot, delay]) => [slot, delay]),
      [[0, 1_000]],
    );
    mock.timers.tick(1_000);
    assert.deepEqual(worker?.signals, ['SIGTERM', 'SIGKILL']);
    assert.equal(s.forks.length, 2, 'the respawn came after its 1 s delay');
    worker?.exit(null, 'SIGKILL');
    assert.equal(s.stateOf(worker), 'exited');
  });

  it('starting → exited before ready: a StartError, a respawn whose delay doubles with backoff', async () => {
    const s = setup({ workers: 1, backoff: 10 });
    const started = s.supervisor.scaleTo(1).then(
      () => null,
      (error: unknown) => error,
    );
    s.forks[0]?.exit(1);
    const error = await started;
    assert.ok(error instanceof StartError);
    assert.deepEqual(error.start.failure, { kind: 'exit', code: 1, signal: null });
    mock.timers.tick(1_000);
    s.forks[1]?.exit(1);
    mock.timers.tick(2_000);
    s.forks[2]?.exit(1);
    assert.deepEqual(
      s.seen('respawn').map(([, delay]) => delay),
      [1_000, 2_000, 4_000],
    );
  });

  it('a slow start is noticed once, 5 s after the fork', async () => {
    const s = setup({ workers: 1 });
    void s.supervisor.scaleTo(1).catch(() => {});
    mock.timers.tick(5_000);
    assert.equal(s.seen('slowStart').length, 1);
    s.forks[0]?.boot().listen();
    mock.timers.tick(10_000);
    assert.equal(s.seen('slowStart').length, 1);
  });
});

describe('supervisor: a reload’s rollout', () => {
  it('starting → held → ready once the whole batch is ready; the old workers retire: drain message, SIGTERM at timeout, SIGKILL after killTimeout', async () => {
    const s = await running();
    const old = [...s.forks];
    const rolled = s.supervisor.rollout([0, 1], 1, new AbortController().signal);
    const fresh = s.forks.slice(2);
    assert.deepEqual(
      fresh.map((w) => [w.slot, w.generation, s.stateOf(w)]),
      [
        [0, 1, 'starting'],
        [1, 1, 'starting'],
      ],
    );
    fresh[0]?.boot().listen();
    assert.equal(s.stateOf(fresh[0]), 'held');
    assert.deepEqual(
      s.active(),
      old.map((w) => w.process.pid),
      'the old generation serves while the batch is not ready',
    );
    fresh[1]?.boot().listen();
    assert.equal(await rolled, null);
    assert.deepEqual(
      fresh.map((w) => s.stateOf(w)),
      ['ready', 'ready'],
    );
    assert.deepEqual(
      s.active(),
      fresh.map((w) => w.process.pid),
    );
    assert.deepEqual(
      old.map((w) => s.stateOf(w)),
      ['retiring', 'retiring'],
    );
    assert.deepEqual(old[0]?.sent[0], { cmd: 'qilin:retire', deadline: 1_800, reason: 'reload', handover: true });
    mock.timers.tick(1_999);
    assert.deepEqual(old[0]?.signals, []);
    mock.timers.tick(1);
    assert.deepEqual(old[0]?.signals, ['SIGTERM']);
    mock.timers.tick(1_000);
    assert.deepEqual(old[0]?.signals, ['SIGTERM', 'SIGKILL']);
    old[0]?.exit(0);
    assert.equal(s.stateOf(old[0]), 'exited');
  });

  it('held → exited: the rollout reports the failed worker; its other new worker is stopped, the old ones keep serving', async () => {
    const s = await running();
    const old = s.active();
    const rolled = s.supervisor.rollout([0, 1], 1, new AbortController().signal);
    const [first, second] = s.forks.slice(2);
    first?.boot().listen();
    first?.exit(1);
    const failed = await rolled;
    assert.deepEqual(failed?.failure, { kind: 'exit', code: 1, signal: null });
    assert.equal(failed?.slot, 0);
    assert.equal(s.stateOf(second), 'retiring');
    assert.deepEqual(second?.signals, ['SIGTERM'], 'not ready yet: stopped at once');
    assert.deepEqual(s.active(), old);
  });

  it('held → draining on a crash after listening: the rollout fails naming it, and the crashed worker drains itself', async () => {
    const s = await running();
    const rolled = s.supervisor.rollout([0, 1], 1, new AbortController().signal);
    const [first] = s.forks.slice(2);
    first?.boot().listen();
    first?.say({ cmd: 'qilin:crash', error: { name: 'TypeError', message: 'boom', stack: undefined } });
    const failed = await rolled;
    assert.deepEqual(failed?.failure, { kind: 'crash', error: 'TypeError: boom' });
    assert.equal(s.stateOf(first), 'draining');
    assert.deepEqual(first?.signals, [], 'left to finish its requests');
    mock.timers.tick(2_000);
    assert.deepEqual(first?.signals, ['SIGTERM'], 'SIGTERM at the crash deadline: timeout, here under its 10 s cap');
  });

  it('an aborted rollout rejects with the reason and stops its new workers', async () => {
    const s = await running();
    const controller = new AbortController();
    const rolled = s.supervisor.rollout([0, 1], 1, controller.signal).then(
      () => null,
      (error: unknown) => error,
    );
    controller.abort(new Error('shutting down'));
    assert.equal(((await rolled) as Error).message, 'shutting down');
    assert.deepEqual(
      s.forks.slice(2).map((w) => s.stateOf(w)),
      ['retiring', 'retiring'],
    );
  });
});

describe('supervisor: serving workers', () => {
  it("ready → replacing on {cmd: 'disconnect'}; its replacement takes over, then it retires", async () => {
    const s = await running();
    const [old] = s.forks;
    old?.say({ cmd: 'disconnect' });
    assert.equal(s.stateOf(old), 'replacing');
    assert.deepEqual(
      s.seen('replace').map(([, reason]) => reason),
      ['requested'],
    );
    const replacement = s.forks[2];
    assert.equal(replacement?.slot, 0);
    replacement?.boot().listen();
    assert.equal(s.active()[0], replacement?.process.pid);
    assert.equal(s.stateOf(old), 'retiring');
    assert.equal((old?.sent.at(-2) as { reason?: string } | undefined)?.reason, 'replace');
  });

  it("one that asked to be replaced gets SIGTERM `timeout` after it asked (recluster's kill timeout), at least a margin after the takeover", async () => {
    const s = await running();
    const [asker, other] = s.forks;
    asker?.say({ cmd: 'disconnect' });
    mock.timers.tick(500);
    s.forks[2]?.boot().listen();
    assert.equal(s.stateOf(asker), 'retiring');
    assert.deepEqual((asker?.sent.at(-2) as { deadline: number } | undefined)?.deadline, 1_350, 'its drain ends a margin before the SIGTERM, 1.5 s from now');
    mock.timers.tick(1_499);
    assert.deepEqual(asker?.signals, []);
    mock.timers.tick(1);
    assert.deepEqual(asker?.signals, ['SIGTERM'], '2 s (timeout) after it asked');
    // A replacement slower than the timeout: the margin, from the takeover.
    other?.say({ cmd: 'disconnect' });
    mock.timers.tick(2_500);
    s.forks[3]?.boot().listen();
    mock.timers.tick(199);
    assert.deepEqual(other?.signals, []);
    mock.timers.tick(1);
    assert.deepEqual(other?.signals, ['SIGTERM']);
  });

  it('replacing → exited before the replacement is ready: the replacement still takes the slot, and no second one starts', async () => {
    const s = await running();
    const [old] = s.forks;
    old?.say({ cmd: 'disconnect' });
    old?.exit(0);
    assert.equal(s.active()[0], null);
    assert.equal(s.forks.length, 3);
    s.forks[2]?.boot().listen();
    assert.equal(s.active()[0], s.forks[2]?.process.pid);
    mock.timers.tick(10_000);
    assert.equal(s.forks.length, 3);
  });

  it('ready → draining on an uncaught exception: a replacement at once, SIGTERM only at the crash deadline', async () => {
    const s = await running();
    const [crashed] = s.forks;
    crashed?.say({ cmd: 'qilin:crash', error: { name: 'Error', message: 'x', stack: undefined } });
    assert.equal(s.stateOf(crashed), 'draining');
    assert.equal(s.active()[0], null);
    mock.timers.tick(0);
    assert.equal(s.forks[2]?.slot, 0, 'respawned without delay');
    mock.timers.tick(1_999);
    assert.deepEqual(crashed?.signals, []);
    mock.timers.tick(1);
    assert.deepEqual(crashed?.signals, ['SIGTERM'], 'at timeout (2 s), under the 10 s cap');
  });

  it('the crash deadline is at most 10 s, whatever the timeout', async () => {
    const s = await running({ timeout: 3_600 });
    const [crashed] = s.forks;
    crashed?.say({ cmd: 'qilin:crash', error: { name: 'Error', message: 'x', stack: undefined } });
    mock.timers.tick(9_999);
    assert.deepEqual(crashed?.signals, []);
    mock.timers.tick(1);
    assert.deepEqual(crashed?.signals, ['SIGTERM']);
  });

  it('ready → draining when it disconnects itself: SIGTERM at timeout after the disconnect', async () => {
    const s = await running();
    const [leaver] = s.forks;
    leaver?.leave();
    assert.equal(s.stateOf(leaver), 'draining');
    assert.deepEqual(
      s.seen('replace').map(([, reason]) => reason),
      ['disconnected'],
    );
    mock.timers.tick(2_000);
    assert.deepEqual(leaver?.signals, ['SIGTERM']);
  });

  it('ready → exited: the slot respawns after its delay', async () => {
    const s = await running();
    s.forks[1]?.exit(1);
    assert.equal(s.active()[1], null);
    assert.deepEqual(
      s.seen('respawn').map(([slot, delay]) => [slot, delay]),
      [[1, 1_000]],
    );
    mock.timers.tick(1_000);
    assert.equal(s.forks[2]?.slot, 1);
  });

  it('ready → replacing when its heartbeats stop: the silent worker is cut off while another answers', async () => {
    const s = await running({ heartbeatTimeout: 3 });
    s.supervisor.startMonitor();
    const [silent, talking] = s.forks;
    for (let t = 0; t < 5_000; t += 500) {
      talking?.say({ cmd: 'qilin:heartbeat', rss: 1 });
      mock.timers.tick(500);
    }
    assert.equal(s.stateOf(silent), 'replacing');
    assert.equal(s.stateOf(talking), 'ready');
    assert.ok(silent?.sent.includes('disconnect()'), 'no more connections for it');
    assert.deepEqual(
      s.seen('replace').map(([, reason]) => reason),
      ['unresponsive'],
    );
    s.supervisor.cancel(new Error('done'));
  });

  it('above 1.5 × maxMemory, read by the primary every 50 ms, a worker is killed once it drains, not while it serves', async () => {
    const s = await running({ maxMemory: '100MB', timeout: 30 });
    const [leaking] = s.forks;
    const MB = 1024 * 1024;
    leaking?.say({ cmd: 'qilin:heartbeat', rss: 120 * MB });
    assert.equal(s.stateOf(leaking), 'replacing');
    s.memory.set(leaking!.process.pid, 160 * MB);
    mock.timers.tick(50);
    assert.deepEqual(leaking?.signals, [], 'still the slot’s only server: its replacement comes first');
    mock.timers.tick(1_000);
    s.forks[2]?.boot().listen();
    assert.equal(s.stateOf(leaking), 'retiring');
    s.memory.set(leaking!.process.pid, 149 * MB);
    mock.timers.tick(50);
    assert.deepEqual(leaking?.signals, []);
    s.memory.set(leaking!.process.pid, 151 * MB);
    mock.timers.tick(50);
    assert.deepEqual(leaking?.signals, ['SIGKILL']);
    assert.ok(s.lines.some((line) => /uses 151 MB, above its hard limit of 150 MB \(1\.5 × maxMemory\): killed/.test(line)));
  });

  it('ready → replacing above maxMemory, before it was healthy: the replacement waits the slot’s backoff delay', async () => {
    const s = await running({ maxMemory: '100MB' });
    s.forks[0]?.say({ cmd: 'qilin:heartbeat', rss: 200 * 1024 * 1024 });
    assert.equal(s.stateOf(s.forks[0]), 'replacing');
    assert.equal(s.forks.length, 2);
    mock.timers.tick(1_000);
    assert.equal(s.forks.length, 3);
    assert.ok(s.lines.some((line) => /uses 200 MB, above maxMemory 100 MB; starting its replacement in 1 second/.test(line)));
  });
});

describe('supervisor: stopping', () => {
  it('shutdown: every worker retires; it resolves once all have exited', async () => {
    const s = await running();
    let done = false;
    const stopped = s.supervisor.shutdown().then(() => (done = true));
    assert.deepEqual(
      s.forks.map((w) => s.stateOf(w)),
      ['retiring', 'retiring'],
    );
    assert.deepEqual(
      s.forks.map((w) => w.sent[0] as { reason?: string; handover?: boolean }).map(({ reason, handover }) => ({ reason, handover })),
      [
        { reason: 'shutdown', handover: false },
        { reason: 'shutdown', handover: false },
      ],
      'no worker stays to take their idle connections',
    );
    s.forks[0]?.exit(0);
    await flush();
    assert.equal(done, false);
    s.forks[1]?.exit(0);
    await stopped;
  });

  it('halt: timers of serving and starting workers end, those of workers being stopped go on', async () => {
    const s = await running({ readyTimeout: '3s' });
    s.supervisor.retire(s.supervisor.handles.get(s.forks[0]!.asWorker())!, 'shutdown', true);
    void s.supervisor.scaleTo(3).catch(() => {});
    s.state.running = false;
    s.supervisor.halt();
    // Mocked timers set while a tick runs count from its end: step past SIGTERM, then past SIGKILL.
    mock.timers.tick(5_000);
    mock.timers.tick(5_000);
    assert.deepEqual(s.forks[0]?.signals, ['SIGTERM', 'SIGKILL'], 'the retiring worker is still stopped');
    assert.deepEqual(s.forks[2]?.signals, [], 'the starting one has no readyTimeout any more');
  });

  it('retire: nothing for a worker that drains itself or is already retiring', async () => {
    const s = await running();
    const [crashed] = s.forks;
    crashed?.say({ cmd: 'qilin:crash', error: { name: 'Error', message: 'x', stack: undefined } });
    const before = crashed?.sent.length;
    s.supervisor.retire(s.supervisor.handles.get(crashed!.asWorker())!, 'shutdown', true);
    assert.equal(s.stateOf(crashed), 'draining');
    assert.equal(crashed?.sent.length, before);
    assert.ok(!sentCommands(crashed!).includes('qilin:retire'));
  });
});

describe('supervisor: a reload with new settings', () => {
  const reporter = (s: ReturnType<typeof setup>) => s.host;
  const plan = (s: ReturnType<typeof setup>, changes: Record<string, unknown>, workers: number | null = null) => ({
    generation: 1,
    options: resolveChanges(s.supervisor.options, changes, {}),
    workers,
    signal: new AbortController().signal,
  });

  it('the new workers get the new env, args and node args; the old ones drain with their own timeout; respawns after it get the new settings', async () => {
    const s = await running({ env: { FEATURE: 'off' } });
    const old = [...s.forks];
    const reloaded = runReload(s.supervisor, reporter(s), plan(s, { env: { FEATURE: 'on' }, args: ['--port', '9'], execArgv: ['--no-warnings'], timeout: 5 }));
    const fresh = s.forks.slice(2);
    assert.deepEqual(
      fresh.map((w) => [w.spec.env.FEATURE, w.spec.args, w.spec.execArgv.at(-1), w.spec.env.QILIN_TIMEOUT]),
      [
        ['on', ['--port', '9'], '--no-warnings', '5000'],
        ['on', ['--port', '9'], '--no-warnings', '5000'],
      ],
    );
    for (const worker of fresh) worker.boot().listen();
    await reloaded;
    assert.equal(s.supervisor.options.timeout, 5_000, 'the cluster keeps the new settings');
    assert.deepEqual(old[0]?.sent[0], { cmd: 'qilin:retire', deadline: 1_800, reason: 'reload', handover: true }, 'the old worker drains within its own 2 s');
    mock.timers.tick(2_000);
    assert.deepEqual(old[0]?.signals, ['SIGTERM']);
    fresh[0]?.exit(1);
    mock.timers.tick(1_000);
    const respawned = s.forks.at(-1);
    assert.notEqual(respawned, fresh[0]);
    assert.deepEqual([respawned?.slot, respawned?.generation, respawned?.spec.env.FEATURE], [0, 1, 'on']);
  });

  it('a failed reload keeps the old settings: respawns after it get them', async () => {
    const s = await running({ env: { FEATURE: 'off' } });
    const reloaded = runReload(s.supervisor, reporter(s), plan(s, { env: { FEATURE: 'broken' } })).then(
      () => null,
      (error: unknown) => error,
    );
    s.forks[2]?.exit(1);
    assert.ok((await reloaded) instanceof ReloadError);
    assert.equal(s.supervisor.options.env.FEATURE, 'off');
    s.forks[0]?.exit(1);
    mock.timers.tick(1_000);
    assert.deepEqual([s.forks.at(-1)?.slot, s.forks.at(-1)?.spec.env.FEATURE], [0, 'off']);
  });

  it('more workers: the new slots start with the reload and serve with it; a failure takes them away again', async () => {
    const s = await running();
    const reloaded = runReload(s.supervisor, reporter(s), plan(s, { workers: 3 }, 3));
    const fresh = s.forks.slice(2);
    assert.deepEqual(
      fresh.map((w) => w.slot),
      [0, 1, 2],
    );
    for (const worker of fresh) worker.boot().listen();
    const result = await reloaded;
    assert.equal(result.slots.length, 3);
    assert.deepEqual(
      s.active(),
      fresh.map((w) => w.process.pid),
    );

    const failing = runReload(s.supervisor, reporter(s), { ...plan(s, { workers: 4 }, 4), generation: 2 }).then(
      () => null,
      (error: unknown) => error,
    );
    const next = s.forks.slice(5);
    assert.equal(next.length, 4);
    next[3]?.exit(1);
    assert.ok((await failing) instanceof ReloadError);
    await flush();
    assert.equal(s.supervisor.slotCount, 3, 'the slot the failed reload added is gone');
    assert.deepEqual(
      s.active(),
      fresh.map((w) => w.process.pid),
    );
  });

  it('fewer workers: the slots above the new count serve through the reload and retire once it has succeeded', async () => {
    const s = await running();
    const old = [...s.forks];
    const reloaded = runReload(s.supervisor, reporter(s), plan(s, { workers: 1 }, 1));
    const fresh = s.forks.slice(2);
    assert.deepEqual(
      fresh.map((w) => w.slot),
      [0],
    );
    assert.equal(s.stateOf(old[1]), 'ready', 'slot 1 still serves while the reload runs');
    fresh[0]?.boot().listen();
    await reloaded;
    assert.equal(s.supervisor.slotCount, 1);
    assert.deepEqual(
      old.map((w) => s.stateOf(w)),
      ['retiring', 'retiring'],
    );
    assert.deepEqual(s.active(), [fresh[0]?.process.pid]);
  });
});
