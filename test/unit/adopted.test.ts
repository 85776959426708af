// A worker accepting on a removed slot's socket beside its own (balance 'reuseport'): what it accepts there reaches the same server, and it stops when asked or when the server closes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { adoptSocket, adoptedCopy, dropSocket } from '../../src/worker/adopted.js';

type Handle = { close(): void; getsockname(out: Record<string, unknown>): number };
const createServerHandle = (net as unknown as { _createServerHandle: (address: string, port: number, addressType: number) => Handle | number })
  ._createServerHandle;

/** A bound TCP socket on a port of its own, as the primary's table holds one, and its port. */
function boundSocket(): { handle: Handle; port: number } {
  const handle = createServerHandle('127.0.0.1', 0, 4);
  assert.ok(typeof handle !== 'number');
  const out: Record<string, unknown> = {};
  handle.getsockname(out);
  return { handle, port: out.port as number };
}

function connect(port: number): Promise<'connected' | 'refused'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', () => resolve('refused'));
  });
}

describe('adopted slot sockets in a worker', () => {
  it('gives the server on the port what it accepts on the adopted socket, and stops when asked', async (t) => {
    const seen: number[] = [];
    const server = net.createServer((socket) => {
      seen.push(socket.localPort ?? 0);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const { handle, port } = boundSocket();
    assert.equal(adoptSocket(server, 'k@1', handle), true);
    assert.equal(adoptedCopy('k@1'), handle);
    assert.equal(adoptSocket(server, 'k@1', boundSocket().handle), false, 'one adoption per key');
    assert.equal(await connect(port), 'connected');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [port], "the server's own connection handler took it");
    dropSocket('k@1');
    assert.equal(adoptedCopy('k@1'), undefined);
    assert.equal(await connect(port), 'refused', 'the socket is closed here (the primary holds its own copy)');
  });

  it('stops when the server closes, and refuses a socket for a server that is not listening', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { handle, port } = boundSocket();
    assert.equal(adoptSocket(server, 'k@2', handle), true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(adoptedCopy('k@2'), undefined);
    assert.equal(await connect(port), 'refused');
    assert.equal(adoptSocket(server, 'k@3', boundSocket().handle), false);
    assert.equal(adoptSocket(null, 'k@4', boundSocket().handle), false);
  });
});
