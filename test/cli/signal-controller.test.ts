// The signal controller against a fake cluster: what each signal does, double shutdown, and storms that never overlap scale calls.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LogEvent } from '../../src/cli/format.js';
import { type Controllable, SignalController } from '../../src/cli/signals.js';
import { within } from './helpers.js';

/** A cluster whose calls are recorded and settle when the test says. */
class FakeCluster implements Controllable {
  readonly calls: string[] = [];
  scaling = 0;
  maxConcurrentScales = 0;
  readonly #pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  failReload = false;
  shuttingDown = false;

  reload(): Promise<unknown> {
    this.calls.push('reload');
    return this.failReload ? Promise.reject(new Error('reload failed')) : Promise.resolve();
  }

  scale(workers: number): Promise<void> {
    this.calls.push(`scale ${workers}`);
    if (this.shuttingDown) return Promise.reject(new Error('Cannot scale: the cluster is stopping'));
    this.scaling += 1;
    this.maxConcurrentScales = Math.max(this.maxConcurrentScales, this.scaling);
    return new Promise((resolve, reject) => {
      this.#pending.push({
        resolve: () => {
          this.scaling -= 1;
          resolve();
        },
        reject: (error) => {
          this.scaling -= 1;
          reject(error);
        },
      });
    });
  }

  /** Lets the oldest scale call finish. */
  finishScale(): void {
    this.#pending.shift()?.resolve();
  }

  /** Makes the oldest scale call fail. */
  failScale(error: Error): void {
    this.#pending.shift()?.reject(error);
  }

  shutdown(): Promise<void> {
    this.calls.push('shutdown');
    this.shuttingDown = true;
    return new Promise(() => {});
  }

  terminate(): Promise<void> {
    this.calls.push('terminate');
    return Promise.resolve();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup(workers = 2) {
  const cluster = new FakeCluster();
  const events: LogEvent[] = [];
  const controller = new SignalController(cluster, workers, (e) => events.push(e));
  return { cluster, events, controller };
}

describe('SignalController', () => {
  test('SIGUSR2 and SIGHUP reload; a failed reload is not thrown', async () => {
    const { cluster, controller, events } = setup();
    cluster.failReload = true;
    controller.handle('SIGUSR2');
    controller.handle('SIGHUP');
    await tick();
    assert.deepEqual(cluster.calls, ['reload', 'reload']);
    assert.deepEqual(
      events.map((e) => e.event === 'signal' && e.action),
      ['reload', 'reload'],
    );
  });

  test('SIGTERM shuts down gracefully; a second one terminates; later ones and reloads are ignored', async () => {
    const { cluster, controller, events } = setup();
    controller.handle('SIGTERM');
    assert.equal(controller.stopping, true);
    controller.handle('SIGUSR2');
    controller.handle('SIGTTIN');
    controller.handle('SIGINT');
    controller.handle('SIGINT');
    assert.deepEqual(await within(1_000, 'the controller to stop', controller.stopped), { forced: true });
    assert.deepEqual(cluster.calls, ['shutdown', 'terminate']);
    assert.deepEqual(
      events.map((e) => (e.event === 'signal' ? `${e.signal} ${e.action}` : e.event)),
      ['SIGTERM shutdown', 'SIGUSR2 ignored', 'SIGTTIN ignored', 'SIGINT force'],
    );
  });

  test('after a shutdown asked without a signal (qilin stop), the first SIGTERM joins it; only a second one forces', async () => {
    const { cluster, controller, events } = setup();
    void controller.shutdown();
    controller.handle('SIGTERM');
    await tick();
    assert.deepEqual(cluster.calls, ['shutdown'], 'no worker is killed by the first signal');
    controller.handle('SIGTERM');
    assert.deepEqual(await within(1_000, 'the controller to stop', controller.stopped), { forced: true });
    assert.deepEqual(cluster.calls, ['shutdown', 'terminate']);
    assert.deepEqual(
      events.map((e) => (e.event === 'signal' ? `${e.signal} ${e.action}` : e.event)),
      ['SIGTERM shutdown', 'SIGTERM force'],
    );
  });

  test('SIGTTIN and SIGTTOU scale one at a time towards the newest target, never below 1', async () => {
    const { cluster, controller, events } = setup(2);
    controller.handle('SIGTTIN');
    await tick();
    controller.handle('SIGTTIN');
    controller.handle('SIGTTIN');
    controller.handle('SIGTTOU');
    assert.equal(controller.target, 4);
    assert.deepEqual(cluster.calls, ['scale 3'], 'no second scale call while one runs');
    cluster.finishScale();
    await tick();
    assert.deepEqual(cluster.calls, ['scale 3', 'scale 4'], 'the next call goes straight to the newest target');
    cluster.finishScale();
    await tick();
    assert.equal(cluster.maxConcurrentScales, 1);
    assert.deepEqual(
      events.filter((e) => e.event === 'scaled'),
      [
        { event: 'scaled', workers: 3 },
        { event: 'scaled', workers: 4 },
      ],
    );

    for (let i = 0; i < 10; i += 1) controller.handle('SIGTTOU');
    assert.equal(controller.target, 1);
    assert.ok(events.some((e) => e.event === 'warning' && /already at 1 worker/.test(e.message)));
    await tick();
    cluster.finishScale();
    await tick();
    assert.equal(cluster.calls.at(-1), 'scale 1');
  });

  test('scale() (the admin interface) shares the target with the signals and resolves once its number is applied', async () => {
    const { cluster, controller, events } = setup(2);
    const settled: string[] = [];
    const track = (name: string, promise: Promise<void>): Promise<void> =>
      promise.then(
        () => void settled.push(`${name} done`),
        (error: Error) => void settled.push(`${name} failed: ${error.message}`),
      );
    assert.equal(
      await within(
        1_000,
        'scale to the current count',
        controller.scale(2).then(() => 'done'),
      ),
      'done',
      'the current count is applied already',
    );
    assert.deepEqual(cluster.calls, []);

    const four = track('4', controller.scale(4));
    await tick();
    const alsoFour = track('4 again', controller.scale(4));
    controller.handle('SIGTTIN');
    assert.equal(controller.target, 5, 'a signal counts from the admin target');
    assert.deepEqual(cluster.calls, ['scale 4']);
    cluster.finishScale();
    await tick();
    assert.deepEqual(settled, ['4 done'], 'the first request is applied; the second waits for the newest target');
    assert.deepEqual(cluster.calls, ['scale 4', 'scale 5']);
    const three = track('3', controller.scale(3));
    cluster.finishScale();
    await tick();
    assert.deepEqual(cluster.calls, ['scale 4', 'scale 5', 'scale 3']);
    cluster.failScale(new Error('no room'));
    await within(1_000, 'every scale request to settle', Promise.all([four, alsoFour, three]));
    assert.deepEqual(settled, ['4 done', '4 again done', '3 failed: no room']);
    assert.ok(events.some((e) => e.event === 'warning' && /scaling to 3 workers: no room/.test(e.message)));
    assert.equal(cluster.maxConcurrentScales, 1);
  });

  test('scale() during a shutdown is refused, and a request still waiting when it starts is answered', async () => {
    const { cluster, controller } = setup(2);
    const four = controller.scale(4);
    await tick();
    const five = controller.scale(5);
    controller.handle('SIGTERM');
    cluster.finishScale();
    await within(1_000, 'the request being applied', four);
    await assert.rejects(within(1_000, 'the waiting request', five), (error: Error & { code?: string }) => error.code === 'ERR_QILIN_SHUTTING_DOWN');
    await assert.rejects(within(1_000, 'a request after the shutdown began', controller.scale(6)), /the cluster is stopping/);
    assert.deepEqual(cluster.calls, ['scale 4', 'shutdown', 'scale 6']);
    assert.equal(controller.stopping, true);
  });

  test('a storm of every signal never throws and leaves one shutdown', async () => {
    const { cluster, controller } = setup(3);
    const signals = ['SIGUSR2', 'SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const;
    for (let i = 0; i < 200; i += 1) {
      assert.doesNotThrow(() => controller.handle(signals[i % 4] as (typeof signals)[number]));
      if (i % 7 === 0) cluster.finishScale();
      if (i % 10 === 0) await tick();
    }
    controller.handle('SIGTERM');
    assert.equal(cluster.calls.filter((c) => c === 'shutdown').length, 1);
    assert.equal(cluster.maxConcurrentScales, 1);
  });
});
