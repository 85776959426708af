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
  readonly #pending: (() => void)[] = [];
  failReload = false;

  reload(): Promise<unknown> {
    this.calls.push('reload');
    return this.failReload ? Promise.reject(new Error('reload failed')) : Promise.resolve();
  }

  scale(workers: number): Promise<void> {
    this.calls.push(`scale ${workers}`);
    this.scaling += 1;
    this.maxConcurrentScales = Math.max(this.maxConcurrentScales, this.scaling);
    return new Promise((resolve) => {
      this.#pending.push(() => {
        this.scaling -= 1;
        resolve();
      });
    });
  }

  /** Lets the oldest scale call finish. */
  finishScale(): void {
    this.#pending.shift()?.();
  }

  shutdown(): Promise<void> {
    this.calls.push('shutdown');
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
    assert.deepEqual(events.map((e) => e.event === 'signal' && e.action), ['reload', 'reload']);
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
    assert.deepEqual(events.filter((e) => e.event === 'scaled'), [{ event: 'scaled', workers: 3 }, { event: 'scaled', workers: 4 }]);

    for (let i = 0; i < 10; i += 1) controller.handle('SIGTTOU');
    assert.equal(controller.target, 1);
    assert.ok(events.some((e) => e.event === 'warning' && /already at 1 worker/.test(e.message)));
    await tick();
    cluster.finishScale();
    await tick();
    assert.equal(cluster.calls.at(-1), 'scale 1');
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
