// The primary's own round-robin: one acceptor per socket, connections to the serving clusters in turn, held while none can take one, and accepting stopped when the last cluster leaves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Relayed } from '../../src/supervisor/deliveries.js';
import { HOLD_LIMIT, Relay, type RelaySink } from '../../src/sockets/relay.js';

class Handle {
  closed = false;
  listening = 0;
  onconnection: ((status: number, client: Handle | undefined) => void) | null = null;
  constructor(readonly name = 'socket') {}
  listen(backlog: number): number {
    this.listening = backlog;
    return 0;
  }
  close(): void {
    this.closed = true;
  }
  /** The kernel has a connection for this socket. */
  accept(name: string): Handle {
    const client = new Handle(name);
    this.onconnection?.(0, client);
    return client;
  }
}

class Sink implements RelaySink {
  readonly got: string[] = [];
  open = true;
  offer(relayed: Relayed, port: number): boolean {
    if (!this.open) return false;
    this.got.push(`${(relayed.connection as Handle).name}@${port}`);
    return true;
  }
}

describe('the relay', () => {
  it('accepts on the first copy of a socket, closes later ones, and gives connections to the clusters in turn', () => {
    const relay = new Relay();
    const first = new Handle();
    const second = new Handle();
    const a = new Sink();
    const b = new Sink();
    assert.equal(relay.serve('k', 8000, first, a), true);
    assert.equal(relay.serve('k', 8000, second, b), true);
    assert.equal(first.listening > 0, true);
    assert.equal(second.closed, true);
    first.accept('c1');
    first.accept('c2');
    first.accept('c3');
    assert.deepEqual([a.got, b.got], [['c1@8000', 'c3@8000'], ['c2@8000']]);
  });

  it('holds a connection no worker can take, unread, and gives it once one can', () => {
    const relay = new Relay();
    const socket = new Handle();
    const sink = new Sink();
    relay.serve('k', 8000, socket, sink);
    sink.open = false;
    const held = socket.accept('early');
    assert.deepEqual(sink.got, []);
    assert.equal(held.closed, false);
    sink.open = true;
    relay.flush();
    assert.deepEqual(sink.got, ['early@8000']);
  });

  it('closes what comes past the hold limit, as a full backlog would refuse it', () => {
    const relay = new Relay();
    const socket = new Handle();
    const sink = new Sink();
    sink.open = false;
    relay.serve('k', 8000, socket, sink);
    for (let i = 0; i < HOLD_LIMIT; i += 1) socket.accept(`c${i}`);
    assert.equal(socket.accept('one too many').closed, true);
    relay.leave(sink);
  });

  it('relays a connection given back to the next cluster, and closes one whose socket is no longer served', () => {
    const relay = new Relay();
    const socket = new Handle();
    const a = new Sink();
    relay.serve('k', 8000, socket, a);
    const back = new Handle('refused');
    relay.again({ key: 'k', connection: back, tries: 1 });
    assert.deepEqual(a.got, ['refused@8000']);
    const orphan = new Handle('orphan');
    relay.again({ key: 'other', connection: orphan, tries: 1 });
    assert.equal(orphan.closed, true);
  });

  it('stops accepting when the last cluster serving a socket leaves, and closes what it held', () => {
    const relay = new Relay();
    const socket = new Handle();
    const a = new Sink();
    const b = new Sink();
    relay.serve('k', 8000, socket, a);
    relay.serve('k', 8000, new Handle(), b);
    relay.leave(a);
    assert.equal(socket.closed, false, 'b still serves it');
    b.open = false;
    const held = socket.accept('held');
    relay.leave(b);
    assert.equal(socket.closed, true);
    assert.equal(socket.onconnection, null);
    assert.equal(held.closed, true);
    assert.equal(relay.size, 0);
  });

  it('refuses a copy that cannot be listened on', () => {
    const relay = new Relay();
    const broken = new Handle();
    broken.listen = () => -22;
    assert.equal(relay.serve('k', 8000, broken, new Sink()), false);
    assert.equal(broken.closed, true);
    assert.equal(relay.size, 0);
  });
});
