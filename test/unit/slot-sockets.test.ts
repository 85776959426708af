// Balance 'reuseport' in the primary: a socket per slot in the table, bound to one port, and the cover that accepts on a slot's copy only while no worker of that slot does.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { SlotCover, accepted } from '../../src/supervisor/cover.js';
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

function fakeWorker(state: WorkerState): WorkerHandle {
  return { state } as unknown as WorkerHandle;
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
});

describe("the cover of a slot's socket", () => {
  it('counts a worker as accepting from its listen until it starts to stop', () => {
    assert.equal(accepted([fakeWorker('starting')]), true);
    assert.equal(accepted([fakeWorker('ready'), fakeWorker('retiring')]), true);
    assert.equal(accepted([fakeWorker('draining'), fakeWorker('retiring'), fakeWorker('exited')]), false);
    assert.equal(accepted([]), false);
  });

  it("accepts on the slot's copy once its last worker stops, passes what it accepts on, and stops when a new worker listens", () => {
    const passed: unknown[] = [];
    const host = {
      host: { running: true },
      handles: new Map(),
      handovers: { pass: (_workers: unknown, port: number, connection: unknown) => passed.push([port, connection]) },
    };
    const cover = new SlotCover(host);
    const worker = { state: 'ready' as WorkerState };
    const first = new Copy();
    cover.listening(worker as unknown as WorkerHandle, 'k@1', 8000, first);
    assert.equal(cover.covering, 0);
    // A second worker of the slot (a reload's) sends its copy too: the one kept already stays.
    const extra = new Copy();
    const next = { state: 'starting' as WorkerState };
    cover.listening(next as unknown as WorkerHandle, 'k@1', 8000, extra);
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
    cover.listening({ state: 'starting' } as unknown as WorkerHandle, 'k@1', 8000, replacement);
    assert.equal(cover.covering, 0);
    assert.equal(first.closed, true, 'the copy accepted on is closed');
    assert.equal(replacement.closed, false, 'the new copy is kept for next time');
    cover.leave();
    assert.equal(replacement.closed, true);
    const late = new Copy();
    cover.listening({ state: 'ready' } as unknown as WorkerHandle, 'k@1', 8000, late);
    assert.equal(late.closed, true, 'a copy arriving after the cluster stopped is closed');
  });

  it('does not accept for a cluster that is not running', () => {
    const host = { host: { running: false }, handles: new Map(), handovers: { pass: () => {} } };
    const cover = new SlotCover(host);
    const copy = new Copy();
    cover.listening({ state: 'exited' } as unknown as WorkerHandle, 'k@0', 8000, copy);
    assert.equal(cover.covering, 0);
    assert.equal(copy.listening, 0);
  });
});
