// The descriptors lent to node:cluster's round-robin: one per socket, shared by its workers, forgotten once they are gone, and closed only if node:cluster never took it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LentDescriptors } from '../../src/sockets/lent.js';

function copy(fd: number) {
  const handle = {
    fd,
    closed: false,
    close(): void {
      handle.closed = true;
    },
  };
  return handle;
}

describe('descriptors lent to round-robin', () => {
  it('the first copy is lent and every later worker is told the same descriptor', () => {
    const lent = new LentDescriptors();
    const [a, b] = [{}, {}];
    assert.equal(lent.fdFor('tcp:8000', a), null, 'no copy yet');
    assert.equal(lent.lend('tcp:8000', copy(24), a), 24);
    assert.equal(lent.fdFor('tcp:8000', b), 24);
  });

  it('a second copy that comes back meanwhile is closed, and the first one lent', () => {
    const lent = new LentDescriptors();
    const late = copy(25);
    lent.lend('tcp:8000', copy(24), {});
    assert.equal(lent.lend('tcp:8000', late, {}), 24);
    assert.equal(late.closed, true);
  });

  it('is kept while a worker uses it; once they are all gone it is forgotten, and left to node:cluster, which listened on it', () => {
    const lent = new LentDescriptors();
    const [a, b] = [{}, {}];
    const served = copy(24);
    lent.lend('tcp:8000', served, a);
    lent.fdFor('tcp:8000', b);
    lent.served(24);
    lent.release(a);
    assert.equal(lent.size, 1, 'still lent while b uses it');
    lent.release(b);
    assert.equal(lent.size, 0, 'forgotten: the next listen makes a new copy');
    assert.equal(served.closed, false, 'node:cluster closes what it listened on');
  });

  it('a copy node:cluster never listened on (its worker died first) is closed once its workers are gone', () => {
    const lent = new LentDescriptors();
    const unserved = copy(30);
    const a = {};
    lent.lend('tcp:9000', unserved, a);
    lent.release(a);
    assert.equal(lent.size, 0);
    assert.equal(unserved.closed, true);
  });
});
