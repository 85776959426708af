import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, ClusterService } from '../../src/cluster.js';
import { lazyService } from '../../src/lazy-service.js';

/** A service that records what was asked of it, and a loader whose promise the test settles. */
function setup() {
  const calls: string[] = [];
  const service: ClusterService = {
    start: () => void calls.push('start'),
    stop: () => void calls.push('stop'),
  };
  let finishLoading!: () => void;
  let loads = 0;
  const lazy = lazyService(() => {
    loads += 1;
    calls.push('load');
    return new Promise((resolve) => (finishLoading = () => resolve(service)));
  });
  return { calls, lazy, finish: () => finishLoading(), loads: () => loads };
}

const cluster = {} as Cluster;

describe('lazy cluster service', () => {
  it('loads nothing until started, then loads once and starts the service', async () => {
    const { calls, lazy, finish, loads } = setup();
    assert.deepEqual(calls, []);
    const started = lazy.start(cluster);
    finish();
    await started;
    assert.deepEqual(calls, ['load', 'start']);
    await lazy.stop();
    assert.deepEqual(calls, ['load', 'start', 'stop']);
    assert.equal(loads(), 1);
  });

  it('never starts the service when stopped while its code is loading', async () => {
    const { calls, lazy, finish } = setup();
    const started = lazy.start(cluster);
    const stopped = lazy.stop();
    finish();
    await Promise.all([started, stopped]);
    assert.deepEqual(calls, ['load', 'stop']);
  });

  it('stopped before it was ever started, loads nothing', async () => {
    const { calls, lazy } = setup();
    await lazy.stop();
    assert.deepEqual(calls, []);
  });
});
