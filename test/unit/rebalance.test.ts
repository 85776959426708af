// When the kernel left kept-alive connections uneven: how many each worker asks to reconnect, and how many each should get.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedGap, planRebalance } from '../../src/supervisor/rebalance.js';

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const after = (busy: readonly number[]): number[] => {
  const { shed, take } = planRebalance(busy);
  return busy.map((n, i) => n - (shed[i] ?? 0) + (take[i] ?? 0));
};

describe('rebalancing kept-alive connections', () => {
  it('leaves counts within an eighth of a fair share alone', () => {
    assert.deepEqual(planRebalance([15, 17]), { shed: [0, 0], take: [0, 0] });
    assert.deepEqual(planRebalance([4, 5, 4, 4, 5, 4, 4, 4]), { shed: [0, 0, 0, 0, 0, 0, 0, 0], take: [0, 0, 0, 0, 0, 0, 0, 0] });
    assert.equal(allowedGap(32, 2), 2);
    assert.equal(allowedGap(32, 8), 1);
    assert.equal(allowedGap(3, 8), 1);
  });

  it('moves a worker with none up to its share, taking from the busiest first', () => {
    const { shed, take } = planRebalance([0, 5, 5, 5, 5, 4, 4, 4]);
    assert.deepEqual(take, [4, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(shed, [0, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('evens out a pool that landed on one worker, as far as the count allows', () => {
    assert.deepEqual(after([32, 0, 0, 0]), [8, 8, 8, 8]);
    assert.deepEqual(after([14, 8, 6, 4]), [8, 8, 8, 8]);
    // 30 over 8 cannot be even: 3 or 4 each.
    const spread = after([20, 3, 3, 2, 2, 0, 0, 0]);
    assert.equal(sum(spread), 30);
    assert.ok(Math.max(...spread) - Math.min(...spread) <= 1, `evened to ${spread}`);
  });

  it('spreads a few long-lived clients of one worker over others', () => {
    assert.deepEqual(after([3, 0, 0, 0]), [1, 1, 1, 0]);
  });

  it('never asks for more than a worker holds, and moves as many as it asks', () => {
    for (const busy of [
      [0, 0],
      [1, 0],
      [2, 0],
      [100, 1, 0, 7],
      [9, 6, 8, 9],
    ]) {
      const { shed, take } = planRebalance(busy);
      assert.equal(sum(shed), sum(take), `${busy}`);
      for (const [i, n] of shed.entries()) assert.ok(n <= (busy[i] ?? 0) && (n === 0 || take[i] === 0), `${busy}: worker ${i} sheds ${n}`);
    }
  });

  it('moves only the connections that have lasted, and counts the others towards the spread', () => {
    // A pool that has just opened on the first worker: counted, not moved.
    assert.deepEqual(planRebalance([32, 0], [0, 0]), { shed: [0, 0], take: [0, 0] });
    // Some of it has lasted: those move, and no more.
    assert.deepEqual(planRebalance([32, 0], [6, 0]), { shed: [6, 0], take: [0, 6] });
    // The busiest has nothing that lasted: the next busiest sheds to the idlest, as far as the gap allows.
    assert.deepEqual(planRebalance([12, 10, 2], [0, 8, 0]), { shed: [0, 4, 0], take: [0, 0, 4] });
    // Without the second list, every busy connection may move.
    assert.deepEqual(planRebalance([32, 0]), planRebalance([32, 0], [32, 0]));
  });

  it('does nothing with fewer than two workers', () => {
    assert.deepEqual(planRebalance([12]), { shed: [0], take: [0] });
    assert.deepEqual(planRebalance([]), { shed: [], take: [] });
  });
});
