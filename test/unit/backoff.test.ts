import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_GROWTH_BASE, SlotBackoff, healthyAfter, respawnDelay } from '../../src/supervisor/backoff.js';

describe('respawn backoff', () => {
  it('waits `respawn` every time when backoff is off', () => {
    const slot = new SlotBackoff({ respawn: 1_000, backoff: 0 });
    assert.deepEqual([slot.next(), slot.next(), slot.next()], [1_000, 1_000, 1_000]);
  });

  it('starts at `respawn` and doubles on each respawn without a healthy worker, up to `backoff`', () => {
    const slot = new SlotBackoff({ respawn: 1_000, backoff: 10_000 });
    const delays = Array.from({ length: 7 }, () => slot.next());
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });

  it('starts again from `respawn` once a worker has been healthy', () => {
    const slot = new SlotBackoff({ respawn: 500, backoff: 8_000 });
    slot.next();
    slot.next();
    slot.next();
    slot.reset();
    assert.equal(slot.attempts, 0);
    assert.equal(slot.next(), 500);
    assert.equal(slot.next(), 1_000);
  });

  it('keeps one state per slot', () => {
    const policy = { respawn: 100, backoff: 1_000 };
    const a = new SlotBackoff(policy);
    const b = new SlotBackoff(policy);
    a.next();
    a.next();
    a.next();
    assert.equal(b.next(), 100);
  });

  it('grows from a small base when `respawn` is 0', () => {
    const policy = { respawn: 0, backoff: 1_000 };
    assert.equal(respawnDelay(policy, 0), 0);
    assert.equal(respawnDelay(policy, 1), MIN_GROWTH_BASE * 2);
    assert.equal(respawnDelay(policy, 10), 1_000);
  });

  it('never waits less than `respawn`, even with a smaller cap', () => {
    assert.equal(respawnDelay({ respawn: 5_000, backoff: 1_000 }, 3), 5_000);
  });

  it('counts a worker healthy after the cap, and at least a second', () => {
    assert.equal(healthyAfter({ respawn: 1_000, backoff: 30_000 }), 30_000);
    assert.equal(healthyAfter({ respawn: 1_000, backoff: 0 }), 1_000);
  });
});
