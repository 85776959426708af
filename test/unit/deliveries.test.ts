// The connections relayed to one worker: closed once taken, relayed again when refused or never received.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Closable, Deliveries, type Relayed } from '../../src/supervisor/deliveries.js';

class Connection implements Closable {
  closed = false;
  constructor(readonly name: string) {}
  close(): void {
    this.closed = true;
  }
}

function setup(open = true) {
  const sent: number[] = [];
  const pings: number[] = [];
  const deliveries = new Deliveries(
    (message) => {
      if (open) sent.push(message.seq);
      return open;
    },
    (id) => pings.push(id),
  );
  const relay = (name: string, now = 0): Relayed & { connection: Connection } => {
    const relayed = { key: 'tcp:*:8000', connection: new Connection(name), tries: 0 };
    deliveries.deliver(relayed, now);
    return relayed;
  };
  return { deliveries, sent, pings, relay };
}

const names = (relayed: Relayed[]): string[] => relayed.map((r) => (r.connection as Connection).name);

describe('deliveries to one worker', () => {
  it('close the primary copy of each connection the worker took, and return none', () => {
    const { deliveries, sent, relay } = setup();
    const a = relay('a');
    const b = relay('b');
    assert.deepEqual(sent, [1, 2]);
    assert.deepEqual(deliveries.taken([1, 2], []), { again: [], lost: 0 });
    assert.equal(a.connection.closed && b.connection.closed, true);
    assert.equal(deliveries.size, 0);
  });

  it('return a refused connection to be relayed again, open', () => {
    const { deliveries, relay } = setup();
    const a = relay('a');
    const returned = deliveries.taken([], [1]);
    assert.deepEqual(names(returned.again), ['a']);
    assert.equal(returned.lost, 0);
    assert.equal(a.connection.closed, false);
  });

  it('count as lost one sent before a connection acknowledged later', () => {
    const { deliveries, relay } = setup();
    relay('a');
    const b = relay('b');
    const c = relay('c');
    const returned = deliveries.taken([3], []);
    assert.deepEqual(names(returned.again), ['a', 'b']);
    assert.equal(returned.lost, 2);
    assert.equal(b.connection.closed, false);
    assert.equal(c.connection.closed, true);
  });

  it('probe the last ones sent once they wait too long; the pong returns those still unacknowledged', () => {
    const { deliveries, pings, relay } = setup();
    relay('a', 0);
    deliveries.check(1_000, 500);
    assert.deepEqual(pings, [], 'not stuck yet');
    assert.equal(deliveries.stuck(1_000, 1_000), true);
    deliveries.check(1_000, 1_000);
    deliveries.check(1_000, 1_100);
    assert.deepEqual(pings, [1], 'one probe at a time');
    relay('b', 1_050);
    assert.deepEqual(deliveries.pong(2), { again: [], lost: 0 }, 'another ping is not this one');
    const returned = deliveries.pong(1);
    assert.deepEqual(names(returned.again), ['a'], 'b went after the ping: it may still be acknowledged');
    assert.equal(returned.lost, 1);
    assert.equal(deliveries.size, 1);
  });

  it('keep nothing when the channel is closed, and close what is left when the worker goes', () => {
    const closed = setup(false);
    const relayed = { key: 'k', connection: new Connection('x'), tries: 0 };
    assert.equal(closed.deliveries.deliver(relayed, 0), false);
    assert.equal(closed.deliveries.size, 0);
    const { deliveries, relay } = setup();
    const a = relay('a');
    deliveries.drop();
    assert.equal(a.connection.closed, true);
    assert.equal(deliveries.size, 0);
  });
});
