// Admin addresses: what `listen` and `--admin` accept, how they are written back, and which are loopback.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatAdminAddress, isLocalOnly, isLoopbackHost, MAX_SOCKET_PATH, parseAdminAddress } from '../../src/admin/address.js';

describe('parseAdminAddress', { timeout: 5_000 }, () => {
  test('a bare port, as a number or a string of digits, binds 127.0.0.1', () => {
    assert.deepEqual(parseAdminAddress(9000), { kind: 'tcp', host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseAdminAddress('9000'), { kind: 'tcp', host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseAdminAddress(0), { kind: 'tcp', host: '127.0.0.1', port: 0 });
  });

  test('host:port, [ipv6]:port and unix:/path', () => {
    assert.deepEqual(parseAdminAddress('0.0.0.0:9000'), { kind: 'tcp', host: '0.0.0.0', port: 9000 });
    assert.deepEqual(parseAdminAddress('localhost:1'), { kind: 'tcp', host: 'localhost', port: 1 });
    assert.deepEqual(parseAdminAddress('admin.example.com:65535'), { kind: 'tcp', host: 'admin.example.com', port: 65535 });
    assert.deepEqual(parseAdminAddress('[::1]:9000'), { kind: 'tcp', host: '::1', port: 9000 });
    assert.deepEqual(parseAdminAddress('unix:/run/qilin.sock'), { kind: 'unix', path: '/run/qilin.sock' });
    assert.deepEqual(parseAdminAddress('unix:run/qilin.sock', '/srv/app'), { kind: 'unix', path: '/srv/app/run/qilin.sock' });
  });

  test('refuses everything else', () => {
    for (const bad of [
      -1,
      65536,
      1.5,
      NaN,
      '65536',
      '-1',
      '1e3',
      '',
      ' 9000',
      '0x10',
      '09000',
      ':9000',
      'host:',
      'host:abc',
      '::1:9000',
      '[nothost]:1',
      'a b:1',
      'unix:',
      'http://127.0.0.1:9000',
      null,
      undefined,
      true,
      {},
      [],
    ]) {
      assert.equal(parseAdminAddress(bad), undefined, `accepted ${JSON.stringify(bad)}`);
    }
  });

  test('refuses a Unix socket path longer than the kernel allows', () => {
    assert.equal(parseAdminAddress(`unix:/${'a'.repeat(MAX_SOCKET_PATH)}`), undefined);
    assert.ok(parseAdminAddress(`unix:/${'a'.repeat(MAX_SOCKET_PATH - 1)}`));
  });
});

describe('formatAdminAddress and loopback', { timeout: 5_000 }, () => {
  test('writes addresses back the way they are read', () => {
    for (const text of ['127.0.0.1:9000', '[::1]:9000', 'unix:/run/qilin.sock', 'localhost:80']) {
      const parsed = parseAdminAddress(text);
      assert.ok(parsed);
      assert.equal(formatAdminAddress(parsed), text);
    }
  });

  test('loopback hosts and Unix sockets are local; anything else is not', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '::ffff:10.0.0.1', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);
    assert.ok(isLocalOnly({ kind: 'unix', path: '/tmp/x.sock' }));
    assert.ok(!isLocalOnly({ kind: 'tcp', host: '0.0.0.0', port: 1 }));
  });
});
