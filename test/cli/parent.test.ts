// Noticing that the process npm ran qilin in has gone, with a parent pid given by the test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startedByNpm, watchParent } from '../../src/cli/parent.js';
import { until } from '../wait.js';

/** A parent pid the test sets, and how many times it was read. */
function parent(pid: number): { pid: number; looks: number; read: () => number } {
  const state = {
    pid,
    looks: 0,
    read: () => {
      state.looks += 1;
      return state.pid;
    },
  };
  return state;
}

describe('watchParent', () => {
  test('calls back once, with the old parent pid, when the parent changes', async (t) => {
    const ppid = parent(4100);
    const gone: number[] = [];
    t.after(watchParent((pid) => gone.push(pid), ppid.read, 5));
    await until('the parent to be looked at a few times', () => ppid.looks > 5, 2_000);
    assert.deepEqual(gone, [], 'nothing while the parent stays');
    ppid.pid = 1;
    await until('the change to be noticed', () => gone.length > 0, 2_000);
    ppid.pid = 77;
    const other = parent(4200);
    t.after(watchParent(() => {}, other.read, 5));
    await until('a few more intervals', () => other.looks > 5, 2_000);
    assert.deepEqual(gone, [4100], 'once');
  });

  test('watches nothing when the parent is already init', async (t) => {
    const init = parent(1);
    const stop = watchParent(() => assert.fail('no parent to lose'), init.read, 5);
    t.after(stop);
    const other = parent(4200);
    t.after(watchParent(() => {}, other.read, 5));
    await until('a few intervals', () => other.looks > 5, 2_000);
    assert.equal(init.looks, 1, 'read once, at start');
  });

  test('startedByNpm reads npm_lifecycle_event', () => {
    assert.equal(startedByNpm({ npm_lifecycle_event: 'start' }), true);
    assert.equal(startedByNpm({ npm_lifecycle_event: 'npx' }), true);
    assert.equal(startedByNpm({ npm_lifecycle_event: '' }), false);
    assert.equal(startedByNpm({}), false);
  });
});
