// The descriptors lent to node:cluster's round-robin: one per socket, shared by its workers, followed through node:cluster's own messages, forgotten when node:cluster closes it, and never reached through a stale number.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LentDescriptors } from '../../src/sockets/lent.js';

function copy(fd: number) {
  const handle = {
    fd,
    closed: false,
    getsockname(out: Record<string, unknown>): number {
      Object.assign(out, { address: '::', port: 8000, family: 'IPv6' });
      return 0;
    },
    close(): void {
      handle.closed = true;
    },
  };
  return handle;
}

const query = (fd: number) => ({ cmd: 'NODE_CLUSTER', act: 'queryServer', fd, port: null, address: null, addressType: null }) as Record<string, unknown>;
const close = (fd: number) => ({ cmd: 'NODE_CLUSTER', act: 'close', key: `null:null:null:${fd}:0` });

describe('descriptors lent to round-robin', () => {
  it('the first copy is lent and every later worker is told the same descriptor', () => {
    const lent = new LentDescriptors();
    const [a, b] = [{}, {}];
    assert.equal(lent.fdFor('tcp:8000', a), null, 'no copy yet');
    assert.equal(lent.lend('tcp:8000', copy(24), a), 24);
    assert.equal(lent.fdFor('tcp:8000', b), 24);
    assert.deepEqual(lent.addressOf(24), { address: '::', port: 8000, addressType: 6 });
  });

  it('a second copy that comes back meanwhile is closed, and the first one lent', () => {
    const lent = new LentDescriptors();
    const late = copy(25);
    lent.lend('tcp:8000', copy(24), {});
    assert.equal(lent.lend('tcp:8000', late, {}), 24);
    assert.equal(late.closed, true);
  });

  it('is forgotten, not closed, when the last worker node:cluster serves on it closes its listen (node:cluster closes it)', () => {
    const lent = new LentDescriptors();
    const [a, b] = [{}, {}];
    const served = copy(24);
    lent.lend('tcp:8000', served, a);
    lent.observe(a, query(24));
    lent.fdFor('tcp:8000', b);
    lent.observe(b, query(24));
    lent.observe(a, close(24));
    assert.equal(lent.size, 1, 'still lent while b listens on it');
    lent.observe(b, close(24));
    assert.equal(lent.size, 0, 'forgotten: the next listen makes a new copy');
    assert.equal(served.closed, false);
  });

  it('a worker told a descriptor node:cluster has closed since listens on the current copy, or on the address, never on the stale number', () => {
    const lent = new LentDescriptors();
    const [a, late, next] = [{}, {}, {}];
    lent.lend('tcp:8000', copy(24), a);
    lent.observe(a, query(24));
    assert.equal(lent.fdFor('tcp:8000', late), 24);
    lent.release(a);
    const stale = query(24);
    lent.observe(late, stale);
    assert.deepEqual(
      { fd: stale.fd, port: stale.port, address: stale.address, addressType: stale.addressType },
      { fd: -1, port: 8000, address: '::', addressType: 6 },
    );
    lent.lend('tcp:8000', copy(31), next);
    const later = query(24);
    lent.observe(late, later);
    assert.equal(later.fd, 31, 'the current copy');
  });

  it('a copy node:cluster never listened on (its worker died first) is closed once nobody was told it', () => {
    const lent = new LentDescriptors();
    const unserved = copy(30);
    const a = {};
    lent.lend('tcp:9000', unserved, a);
    lent.release(a);
    assert.equal(lent.size, 0);
    assert.equal(unserved.closed, true);
  });

  it("leaves the app's own listens by descriptor, and other messages, alone", () => {
    const lent = new LentDescriptors();
    const own = query(7);
    lent.observe({}, own);
    lent.observe({}, { cmd: 'NODE_CLUSTER', act: 'online' });
    assert.equal(own.fd, 7);
  });
});
