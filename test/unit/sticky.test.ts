// Sticky sessions: a client address maps to one slot, the next slot's worker stands in while it has none, and a retry moves on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashAddress, stickyTaker } from '../../src/supervisor/sticky.js';

const workers = (...slots: number[]) => slots.map((slot) => ({ slot, name: `w${slot}` }));

describe('sticky sessions', () => {
  it('send every connection from one address to the same slot, and spread addresses over the slots', () => {
    const all = workers(0, 1, 2, 3);
    const addresses = Array.from({ length: 64 }, (_, i) => `10.0.${i >> 4}.${i}`);
    for (const address of addresses) {
      const first = stickyTaker(all, 4, address);
      assert.equal(stickyTaker(all, 4, address), first);
      assert.equal(first?.slot, hashAddress(address) % 4);
    }
    const used = new Set(addresses.map((address) => stickyTaker(all, 4, address)?.slot));
    assert.equal(used.size, 4, 'every slot gets some addresses');
  });

  it('treat an IPv4 client on a dual-stack socket as the same client', () => {
    const all = workers(0, 1, 2);
    assert.equal(stickyTaker(all, 3, '::ffff:192.0.2.7'), stickyTaker(all, 3, '192.0.2.7'));
  });

  it("fall to the next slot while the address's own has no worker that can take it, and back once it has", () => {
    const address = '198.51.100.20';
    const home = hashAddress(address) % 3;
    const without = workers(0, 1, 2).filter((w) => w.slot !== home);
    assert.equal(stickyTaker(without, 3, address)?.slot, (home + 1) % 3);
    assert.equal(stickyTaker(workers(0, 1, 2), 3, address)?.slot, home);
  });

  it('move on one slot per retry, and find none without workers', () => {
    const address = '203.0.113.5';
    const home = hashAddress(address) % 2;
    assert.equal(stickyTaker(workers(0, 1), 2, address, 1)?.slot, (home + 1) % 2);
    assert.equal(stickyTaker([], 2, address), null);
  });
});
