// Balance 'reuseport' in the primary: a socket per slot in the table, bound to one port, and the cover that accepts on a slot's copy only while no worker of that slot does.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { SlotCover, accepted, slotOfKey } from '../../src/supervisor/cover.js';
import type { WorkerState } from '../../src/supervisor/lifecycle.js';
import type { WorkerHandle } from '../../src/supervisor/worker-handle.js';
import { SocketTable } from '../../src/sockets/table.js';

class Copy {
  closed = false;
  listening = 0;
  onconnection: ((status: number, client: { close(): void } | undefined) => void) | null = null;
  listen(): number {
    this.listening += 1;
    return 0;
  }
  close(): void {
    this.closed = true;
  }
}

/** A worker as the cover sees it, with what it was sent. */
class FakeWorker {
  readonly sent: { message: { cmd: string; key?: string }; handle: unknown }[] = [];
  readonly ports = new Set([8000]);
  hasRuntime = true;
  connected = true;
  outOfDescriptors: string | null = null;
  constructor(public state: WorkerState) {}
  send(message: { cmd: string }, handle?: unknown, done?: () => void): void {
    this.sent.push({ message, handle });
    done?.();
  }
  commands(): string[] {
    return this.sent.map((sent) => sent.message.cmd);
  }
}

function fakeWorker(state: WorkerState): WorkerHandle {
  return new FakeWorker(state) as unknown as WorkerHandle;
}

const asHandle = (worker: FakeWorker): WorkerHandle => worker as unknown as WorkerHandle;

/** A cluster of `slotCount` slots, whose serving workers are `active`, for the cover. */
function fakeHost(active: FakeWorker[], running = true) {
  const passed: [number, unknown][] = [];
  // The socket table's own handles, by key: what an adopter is sent.
  const table = new Map<string, object>([
    ['k@0', { name: 'table k@0' }],
    ['k@1', { name: 'table k@1' }],
    ['k@2', { name: 'table k@2' }],
  ]);
  const unclaimed: { key: string; port: number; handle: object }[] = [];
  const claimed: string[] = [];
  const host = {
    host: { running },
    handles: new Map(),
    handovers: { pass: (_workers: unknown, port: number, connection: unknown) => void passed.push([port, connection]) },
    slotCount: active.length,
    staying: () => active.map(asHandle),
    sockets: { handleOf: (key: string) => table.get(key) ?? null, unclaimed: () => unclaimed, claim: (_owner: object, key: string) => claimed.push(key) },
  };
  return { host, passed, table, unclaimed, claimed };
}

describe('the socket table with a socket per slot', () => {
  it('binds each slot its own socket on the port the first one got, and gives a slot the same socket again', (t) => {
    const table = new SocketTable();
    const owner = {};
    t.after(() => table.release(owner));
    const first = table.acquire(owner, { address: '127.0.0.1', port: 0 }, 0, 0);
    const second = table.acquire(owner, { address: '127.0.0.1', port: 0 }, 0, 1);
    const again = table.acquire(owner, { address: '127.0.0.1', port: 0 }, 0, 0);
    assert.ok(!('error' in first) && !('error' in second) && !('error' in again));
    assert.equal(first.slotted && second.slotted, true);
    assert.notEqual(first.key, second.key);
    assert.notEqual(first.handle.fd, second.handle.fd);
    assert.equal(again.handle, first.handle);
    const ports = table.list().map((entry) => entry.port);
    assert.equal(ports.length, 2);
    assert.equal(ports[0], ports[1]);
    assert.ok((ports[0] ?? 0) > 0);
  });

  it('fails a slot socket with EADDRINUSE on a port another process listens on without reusePort', async (t) => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    const table = new SocketTable();
    const got = table.acquire({}, { address: '127.0.0.1', port }, 0, 0);
    assert.ok('error' in got);
    assert.equal(got.error.code, 'EADDRINUSE');
    assert.equal(table.list().length, 0);
  });

  it('fails the first slot socket with EADDRINUSE on a port other reusePort sockets hold, instead of sharing it', (t) => {
    const other = new SocketTable();
    const owner = {};
    t.after(() => other.release(owner));
    const held = other.acquire(owner, { address: '127.0.0.1', port: 0 }, 0, 0);
    assert.ok(!('error' in held));
    const port = other.list()[0]?.port as number;
    // Listening, as a worker's listen makes it: then it is in the kernel's group for the port.
    assert.equal((held.handle as unknown as { listen(backlog: number): number }).listen(511), 0);
    const table = new SocketTable();
    const got = table.acquire({}, { address: '127.0.0.1', port }, 0, 0);
    assert.ok('error' in got);
    assert.equal(got.error.code, 'EADDRINUSE');
    // A second listen on the same fixed port in one worker (index 1) fails too, as it does without Qilin.
    const second = other.acquire(owner, { address: '127.0.0.1', port }, 1, 0);
    assert.ok('error' in second);
    assert.equal(second.error.code, 'EADDRINUSE');
  });
});

describe("the cover of a slot's socket", () => {
  it('counts a worker as accepting from its listen until it starts to stop, and not while it is out of file descriptors', () => {
    assert.equal(accepted([fakeWorker('starting')]), true);
    assert.equal(accepted([fakeWorker('ready'), fakeWorker('retiring')]), true);
    assert.equal(accepted([fakeWorker('draining'), fakeWorker('retiring'), fakeWorker('exited')]), false);
    assert.equal(accepted([{ state: 'ready', outOfDescriptors: 'EMFILE' }]), false);
    assert.equal(accepted([]), false);
    assert.equal(slotOfKey('::,8000@3'), 3);
    assert.equal(slotOfKey('::,8000'), null);
  });

  it("accepts on the slot's copy once its last worker stops, passes what it accepts on, and stops when a new worker listens", () => {
    const other = new FakeWorker('ready');
    const { host, passed } = fakeHost([other, new FakeWorker('ready')]);
    const cover = new SlotCover(host);
    const worker = new FakeWorker('ready');
    const first = new Copy();
    cover.listening(asHandle(worker), 'k@1', 8000, first);
    assert.equal(cover.covering, 0);
    // A second worker of the slot (a reload's) sends its copy too: the one kept already stays.
    const extra = new Copy();
    const next = new FakeWorker('starting');
    cover.listening(asHandle(next), 'k@1', 8000, extra);
    assert.equal(extra.closed, true);
    worker.state = 'retiring';
    cover.check();
    assert.equal(cover.covering, 0, 'the new worker accepts');
    next.state = 'exited';
    cover.check();
    assert.equal(cover.covering, 1);
    assert.equal(first.listening, 1);
    const client = { close() {} };
    first.onconnection?.(0, client);
    first.onconnection?.(-24, undefined);
    assert.deepEqual(passed, [[8000, client]]);
    const replacement = new Copy();
    cover.listening(asHandle(new FakeWorker('starting')), 'k@1', 8000, replacement);
    assert.equal(cover.covering, 0);
    assert.equal(first.closed, true, 'the copy accepted on is closed');
    assert.equal(replacement.closed, false, 'the new copy is kept for next time');
    cover.leave();
    assert.equal(replacement.closed, true);
    const late = new Copy();
    cover.listening(asHandle(new FakeWorker('ready')), 'k@1', 8000, late);
    assert.equal(late.closed, true, 'a copy arriving after the cluster stopped is closed');
  });

  it('accepts for a worker out of file descriptors, then asks it for a fresh copy once it can accept again', () => {
    const worker = new FakeWorker('ready');
    const { host } = fakeHost([worker]);
    const cover = new SlotCover(host);
    const copy = new Copy();
    cover.listening(asHandle(worker), 'k@0', 8000, copy);
    worker.outOfDescriptors = 'EMFILE';
    cover.check();
    assert.equal(cover.covering, 1);
    worker.outOfDescriptors = null;
    cover.check();
    assert.equal(cover.covering, 0);
    assert.equal(copy.closed, true);
    assert.deepEqual(worker.commands(), ['qilin:spare-request']);
    const fresh = new Copy();
    cover.spare('k@0', fresh);
    assert.equal(fresh.closed, false, 'kept for next time');
    worker.outOfDescriptors = 'EMFILE';
    cover.check();
    assert.equal(fresh.listening, 1, 'the fresh copy is the one accepted on next time');
  });

  it("gives a removed slot's socket to the worker that stays, takes it back when the slot has a worker again", () => {
    const zero = new FakeWorker('ready');
    const active = [zero];
    const { host, table } = fakeHost(active);
    const cover = new SlotCover(host);
    const removed = new FakeWorker('ready');
    const copy = new Copy();
    cover.listening(asHandle(removed), 'k@1', 8000, copy);
    // Slot 1 is removed (a scale down to one) and its worker retires.
    removed.state = 'retiring';
    cover.check();
    assert.equal(cover.covering, 0, 'the primary does not accept: a worker does');
    assert.equal(cover.adopting, 1);
    assert.deepEqual(zero.commands(), ['qilin:adopt-socket']);
    assert.equal(zero.sent[0]?.handle, table.get('k@1'), "the table's own handle, which the primary keeps");
    assert.equal(copy.closed, false);
    // The adopter retires too (a reload): until the next one adopts it, the primary accepts.
    zero.state = 'retiring';
    cover.check();
    assert.equal(cover.adopting, 0);
    assert.equal(cover.covering, 1);
    const successor = new FakeWorker('ready');
    active[0] = successor;
    cover.check();
    assert.equal(cover.adopting, 1);
    // The primary stopped accepting once the copy was written (at once, here), and asked the adopter for a fresh one.
    assert.equal(cover.covering, 0);
    assert.equal(copy.closed, true);
    assert.deepEqual(successor.commands(), ['qilin:adopt-socket', 'qilin:spare-request']);
    cover.spare('k@1', new Copy());
    // A scale up gives slot 1 a worker again: the adopter is told to let go.
    cover.listening(asHandle(new FakeWorker('starting')), 'k@1', 8000, new Copy());
    assert.equal(cover.adopting, 0);
    assert.deepEqual(successor.commands(), ['qilin:adopt-socket', 'qilin:spare-request', 'qilin:drop-socket']);
  });

  it("gives a removed slot's socket to every worker that stays, and accepts on it only while none of them can", () => {
    const zero = new FakeWorker('ready');
    const one = new FakeWorker('ready');
    const active = [zero, one];
    const { host } = fakeHost(active);
    const cover = new SlotCover(host);
    const removed = new FakeWorker('ready');
    const copy = new Copy();
    cover.listening(asHandle(removed), 'k@2', 8000, copy);
    // Slot 2 of 3 is removed (a scale down to two): both workers that stay accept on its socket, so neither
    // gets its whole share on top of its own.
    removed.state = 'retiring';
    cover.check();
    assert.equal(cover.covering, 0);
    assert.deepEqual(zero.commands(), ['qilin:adopt-socket']);
    assert.deepEqual(one.commands(), ['qilin:adopt-socket']);
    // One adopter out of file descriptors: the other still accepts there.
    zero.outOfDescriptors = 'EMFILE';
    cover.check();
    assert.equal(cover.covering, 0);
    // Both: the primary accepts on its copy, and stops once one of them can again.
    one.outOfDescriptors = 'EMFILE';
    cover.check();
    assert.equal(cover.covering, 1);
    assert.equal(copy.listening, 1);
    one.outOfDescriptors = null;
    cover.check();
    assert.equal(cover.covering, 0);
    assert.equal(copy.closed, true);
    assert.equal(one.commands().filter((cmd) => cmd === 'qilin:adopt-socket').length, 1, 'not sent the socket again');
    // One retires (a reload): its successor adopts the socket too; the other went on accepting meanwhile.
    zero.outOfDescriptors = null;
    zero.state = 'draining';
    const successor = new FakeWorker('ready');
    active[0] = successor;
    cover.check();
    assert.equal(cover.covering, 0);
    assert.deepEqual(successor.commands(), ['qilin:adopt-socket']);
    // A scale up gives slot 2 a worker again: both adopters are told to let go.
    cover.listening(asHandle(new FakeWorker('starting')), 'k@2', 8000, new Copy());
    assert.equal(cover.adopting, 0);
    assert.equal(successor.commands().at(-1), 'qilin:drop-socket');
    assert.equal(one.commands().at(-1), 'qilin:drop-socket');
    assert.equal(zero.commands().at(-1), 'qilin:adopt-socket', 'the one that retired is not told');
  });

  it('accepts itself when the worker asked to adopt a socket could not', () => {
    const zero = new FakeWorker('ready');
    const { host } = fakeHost([zero]);
    const cover = new SlotCover(host);
    const removed = new FakeWorker('ready');
    cover.listening(asHandle(removed), 'k@1', 8000, new Copy());
    removed.state = 'exited';
    cover.check();
    assert.equal(cover.adopting, 1);
    cover.adopted(asHandle(zero), 'k@1', false);
    assert.equal(cover.adopting, 0);
    assert.equal(cover.covering, 1);
  });

  it('takes on a slot socket an old primary handed over for a slot this cluster does not have, once a worker serves its port', () => {
    const zero = new FakeWorker('ready');
    const { host, unclaimed, claimed } = fakeHost([zero]);
    const cover = new SlotCover(host);
    const handle = { name: 'inherited k@3' };
    unclaimed.push(
      ...[
        { key: 'k@3', port: 8000 },
        { key: 'other@3', port: 9000 },
        { key: 'k@0', port: 8000 },
      ].map((entry) => ({ ...entry, handle })),
    );
    (host.handles as Map<unknown, unknown>).set({}, zero);
    cover.check();
    assert.deepEqual(claimed, ['k@3'], 'only a removed slot of a port this cluster serves');
    assert.equal(cover.adopting, 1);
    assert.deepEqual(zero.commands(), ['qilin:adopt-socket', 'qilin:spare-request']);
    assert.equal(zero.sent[0]?.handle, handle);
  });

  it('does not accept for a cluster that is not running', () => {
    const { host } = fakeHost([], false);
    const cover = new SlotCover(host);
    const copy = new Copy();
    cover.listening(fakeWorker('exited'), 'k@0', 8000, copy);
    assert.equal(cover.covering, 0);
    assert.equal(copy.listening, 0);
  });
});
