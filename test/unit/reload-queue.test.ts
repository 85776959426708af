import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reloadBatches } from '../../src/reload/batches.js';
import { ReloadQueue } from '../../src/reload/queue.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('reload queue', () => {
  it('runs one reload at a time and merges the requests made meanwhile into one more', async () => {
    const runs: ReturnType<typeof deferred<number>>[] = [];
    const queue = new ReloadQueue(() => {
      const run = deferred<number>();
      runs.push(run);
      return run.promise;
    });
    const first = queue.request();
    const second = queue.request();
    const third = queue.request();
    assert.equal(runs.length, 1, 'the second and third wait');
    assert.ok(queue.busy && queue.queued);
    runs[0]?.resolve(1);
    assert.equal(await first, 1);
    assert.equal(runs.length, 2, 'one more run for both waiting requests');
    runs[1]?.resolve(2);
    assert.deepEqual(await Promise.all([second, third]), [2, 2]);
    assert.ok(!queue.busy && !queue.queued);
  });

  it('still runs the merged request after a failed run, and each caller hears its own outcome', async () => {
    const outcomes = [Promise.reject(new Error('broken')), Promise.resolve('fixed')];
    const queue = new ReloadQueue(() => outcomes.shift() as Promise<string>);
    const first = queue.request();
    const second = queue.request();
    await assert.rejects(first, /broken/);
    assert.equal(await second, 'fixed');
  });

  it('turns a synchronous throw into a rejection', async () => {
    const queue = new ReloadQueue<void>(() => {
      throw new Error('sync');
    });
    await assert.rejects(queue.request(), /sync/);
    assert.equal(queue.busy, false);
  });

  it('cancels the queued requests but lets the running one end', async () => {
    const run = deferred<string>();
    let calls = 0;
    const queue = new ReloadQueue(() => {
      calls += 1;
      return run.promise;
    });
    const running = queue.request();
    const queued = queue.request();
    queue.cancelQueued(new Error('shutting down'));
    await assert.rejects(queued, /shutting down/);
    run.resolve('done');
    assert.equal(await running, 'done');
    assert.equal(calls, 1);
  });
});

describe('reload batches', () => {
  it("replaces every slot at once with 'all'", () => {
    assert.deepEqual(reloadBatches([0, 1, 2, 3], 'all', 1), [[0, 1, 2, 3]]);
  });
  it("replaces `batch` slots at a time, in slot order, with 'rolling'", () => {
    assert.deepEqual(reloadBatches([0, 1, 2, 3, 4], 'rolling', 2), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(reloadBatches([0, 1, 2], 'rolling', 1), [[0], [1], [2]]);
  });
  it('has nothing to do without slots', () => {
    assert.deepEqual(reloadBatches([], 'rolling', 1), []);
  });
});
