import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTcpListen, serves, socketKey } from '../../src/sockets/listen-args.js';

describe('readTcpListen: the listens the primary serves from its own sockets', () => {
  const cb = () => {};
  it('reads the forms Node takes for a TCP port', () => {
    const read = (...args: unknown[]) => {
      const got = readTcpListen(args);
      return got && [got.port, got.host, got.backlog, got.callback === cb];
    };
    assert.deepEqual(read(8000), [8000, null, undefined, false]);
    assert.deepEqual(read('8000', cb), [8000, null, undefined, true]);
    assert.deepEqual(read(8000, '127.0.0.1', 100, cb), [8000, '127.0.0.1', 100, true]);
    assert.deepEqual(read(8000, 100, cb), [8000, null, 100, true]);
    assert.deepEqual(read(8000, 'localhost'), [8000, 'localhost', undefined, false]);
    assert.deepEqual(read({ port: 8000, host: '::1', backlog: 5 }, cb), [8000, '::1', 5, true]);
    assert.deepEqual(read({ port: '8000' }), [8000, null, undefined, false]);
    assert.deepEqual(read(), [0, null, undefined, false]);
    assert.deepEqual(read(cb), [0, null, undefined, true]);
    assert.deepEqual(read({}), [0, null, undefined, false]);
  });

  it('leaves every other form to Node: socket paths, handles, descriptors, exclusive, reusePort, ipv6Only, signals, values Node refuses', () => {
    for (const args of [
      ['/tmp/app.sock'],
      [{ path: '/tmp/app.sock' }],
      [{ fd: 3 }],
      [{ handle: {} }],
      [{ port: 8000, exclusive: true }],
      [{ port: 8000, reusePort: true }],
      [{ port: 8000, ipv6Only: true }],
      [{ port: 8000, signal: new AbortController().signal }],
      [-1],
      [70000],
      [1.5],
      [''],
      [8000, ''],
      [{ port: 8000, host: 42 }],
      [{ port: 8000 }, 'extra'],
    ]) {
      assert.equal(readTcpListen(args), null, JSON.stringify(args));
    }
  });
});

describe('socket keys and passed sockets', () => {
  it('files a socket by address and port', () => {
    assert.equal(socketKey({ address: null, port: 8000 }), 'tcp:*:8000');
    assert.equal(socketKey({ address: '127.0.0.1', port: 8000 }), 'tcp:127.0.0.1:8000');
    assert.equal(socketKey({ address: '::1', port: 8000 }), 'tcp:[::1]:8000');
  });

  it('a passed socket serves a listen on its port: on its own address, or on every address', () => {
    assert.ok(serves({ address: '::', port: 8000 }, { address: null, port: 8000 }));
    assert.ok(serves({ address: '127.0.0.1', port: 8000 }, { address: null, port: 8000 }));
    assert.ok(serves({ address: '127.0.0.1', port: 8000 }, { address: '127.0.0.1', port: 8000 }));
    assert.ok(!serves({ address: '127.0.0.1', port: 8000 }, { address: '10.0.0.1', port: 8000 }));
    assert.ok(!serves({ address: '::', port: 8000 }, { address: null, port: 8001 }));
    assert.ok(!serves({ address: '::', port: 8000 }, { address: null, port: 0 }), 'port 0 asks for a new port');
  });
});
