// Where the admin interface listens: Unix sockets with mode 0600, stale sockets, busy addresses, refusal of open non-loopback addresses, and slow clients cut off.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { type Cluster, recluster } from 'qilin';
import { resolveAdminOptions } from '../../src/admin/options.js';
import type { AdminLimits } from '../../src/admin/limits.js';
import { AdminServer } from '../../src/admin/server.js';
import { Cluster as SourceCluster } from '../../src/cluster.js';
import { resolveOptions } from '../../src/options.js';
import { APP, envelope, raw, request, startCluster, suiteCleanup, until, within } from './helpers.js';

const TOKEN = 'tok-listen-0123456789';

/** A one-worker cluster whose admin interface is expected to fail to listen: resolves with the error it emits. */
async function listenFailure(cleanup: (fn: () => Promise<void>) => void, listen: string | number): Promise<Error> {
  const cluster: Cluster = recluster(APP, { workers: 1, log: false, admin: { listen } });
  cleanup(() => cluster.terminate());
  const failed = new Promise<Error>((resolve) => cluster.once('error', resolve));
  cluster.once('adminListening', (address) => assert.fail(`listened on ${address}`));
  await cluster.run();
  return within(5_000, 'the admin interface to report it could not listen', failed);
}

describe('listening', { timeout: 60_000 }, () => {
  const cleanup = suiteCleanup();
  let dir: string;
  after(async () => {
    await cleanup.run();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const tmp = async (): Promise<string> => (dir ??= await mkdtemp(path.join(os.tmpdir(), 'qilin-admin-')));

  test('a Unix socket is created with mode 0600, answers, and is removed when the cluster stops', async () => {
    const socket = path.join(await tmp(), 'admin.sock');
    const { admin, cluster } = await startCluster(cleanup.add, { workers: 1, admin: { listen: `unix:${socket}` } });
    assert.equal(admin, `unix:${socket}`);
    const stat = await lstat(socket);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
    const reply = await request(admin, { path: '/info' });
    assert.equal(reply.status, 200);
    assert.equal(envelope(reply).result.workers.length, 1);
    await within(10_000, 'the cluster to shut down', cluster.shutdown());
    await until('the socket file to be removed', () => !existsSync(socket));
  });

  test('stopping one instance leaves another instance’s socket at the same path in place', async () => {
    const socket = path.join(await tmp(), 'shared.sock');
    const first = await startCluster(cleanup.add, { workers: 0, admin: { listen: `unix:${socket}` } });
    // The first one's socket file is deleted (by a person, a tmp cleaner), and a second instance takes the path.
    await rm(socket);
    const second = await startCluster(cleanup.add, { workers: 0, admin: { listen: `unix:${socket}` } });
    const before = await lstat(socket);
    await within(10_000, 'the first cluster to shut down', first.cluster.shutdown());
    const after = await lstat(socket);
    assert.deepEqual([after.dev, after.ino], [before.dev, before.ino], 'the second instance’s socket is still there');
    assert.equal((await request(second.admin, { path: '/healthz' })).status, 200);
    await within(10_000, 'the second cluster to shut down', second.cluster.shutdown());
    await until('the second instance’s socket to be removed by it', () => !existsSync(socket));
    assert.deepEqual(
      (await readdir(path.dirname(socket))).filter((name) => name.startsWith('shared.sock')),
      [],
      'no temporary socket name is left',
    );
  });

  test('a stale socket left by a dead process is replaced', async () => {
    const socket = path.join(await tmp(), 'stale.sock');
    // A process that dies by SIGKILL while listening leaves its socket file behind.
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await within(10_000, 'the listening process to die', new Promise((resolve) => child.once('exit', resolve)));
    assert.ok((await lstat(socket)).isSocket(), 'the stale socket is there');
    const { admin } = await startCluster(cleanup.add, { workers: 1, admin: { listen: `unix:${socket}` } });
    assert.equal((await request(admin, { path: '/healthz' })).status, 200);
    assert.equal((await lstat(socket)).mode & 0o777, 0o600);
  });

  test('a regular file at the socket path is left alone and the failure is reported', async () => {
    const file = path.join(await tmp(), 'not-a-socket');
    await writeFile(file, 'keep me');
    const error = await listenFailure(cleanup.add, `unix:${file}`);
    assert.equal((error as { code?: string }).code, 'ERR_QILIN_ADMIN_LISTEN');
    assert.match(error.message, /could not listen on unix:.*not-a-socket: .*exists and is not a socket/);
    assert.equal(await readFile(file, 'utf8'), 'keep me');
  });

  test('a socket another process serves is left alone and the failure is reported', async () => {
    const socket = path.join(await tmp(), 'busy.sock');
    const other = net.createServer((connection) => {
      connection.on('error', () => {}); // the admin server's probe hangs up at once
      connection.end('other');
    });
    await new Promise<void>((resolve) => other.listen(socket, resolve));
    cleanup.add(() => new Promise((resolve) => other.close(() => resolve())));
    const error = await listenFailure(cleanup.add, `unix:${socket}`);
    assert.equal((error as { code?: string }).code, 'ERR_QILIN_ADMIN_LISTEN');
    assert.match(error.message, /another process is listening/);
    assert.match(await raw(`unix:${socket}`, ''), /other/);
  });

  test('a TCP port in use is reported as an error event; the cluster keeps running', async () => {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    cleanup.add(() => new Promise((resolve) => other.close(() => resolve())));
    const { port } = other.address() as net.AddressInfo;
    const error = await listenFailure(cleanup.add, port);
    assert.equal((error as { code?: string }).code, 'ERR_QILIN_ADMIN_LISTEN');
    assert.match(error.message, new RegExp(`could not listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });

  test('a non-loopback address without credentials is refused before anything forks', () => {
    for (const listen of ['0.0.0.0:0', '[::]:0']) {
      assert.throws(
        () => recluster(APP, { workers: 1, log: false, admin: { listen } }),
        (error: Error & { code?: string; option?: string }) =>
          error.code === 'ERR_QILIN_INVALID_OPTION' && error.option === 'admin.listen' && /loopback/.test(error.message),
      );
    }
  });

  test('with credentials it listens on every interface, and still asks for them', async () => {
    const { admin } = await startCluster(cleanup.add, { workers: 1, admin: { listen: '0.0.0.0:0', token: TOKEN } });
    assert.match(admin, /^0\.0\.0\.0:\d+$/);
    const local = admin.replace('0.0.0.0', '127.0.0.1');
    assert.equal((await request(local, { path: '/info' })).status, 401);
    assert.equal((await request(local, { path: '/info', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  });
});

describe('slow and greedy clients', { timeout: 30_000 }, () => {
  const cleanup = suiteCleanup();
  after(() => cleanup.run());

  async function slowServer(limits: Partial<AdminLimits> = {}, token?: string): Promise<string> {
    // Built from the sources so the limits can be small; a cluster without workers is all the server needs (the
    // `workers` option reads 0 as one per CPU, as recluster did, so the resolved options are given no slots).
    const cluster = new SourceCluster(APP, { ...resolveOptions({ runtime: false, log: false }), workers: 0 });
    const options = resolveAdminOptions({ listen: 0, token }) ?? assert.fail();
    cluster.attach(new AdminServer(options, { headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50, ...limits }));
    const address = new Promise<string>((resolve) => cluster.once('adminListening', resolve));
    cleanup.add(() => cluster.shutdown());
    await cluster.run();
    return within(5_000, 'the admin interface to listen', address);
  }

  test('a client that sends its request head too slowly gets 408 and is disconnected', async () => {
    const admin = await slowServer();
    const started = Date.now();
    const answer = await raw(admin, 'GET /info HTTP/1.1\r\nHost: x\r\n', 5_000, { end: false }); // and never the blank line
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started >= 250, 'not before headersTimeout');
    assert.equal((await request(admin, { path: '/healthz' })).status, 200, 'others are still served');
  });

  test('a client that sends its body too slowly is disconnected', async () => {
    const admin = await slowServer();
    const answer = await raw(admin, 'POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab', 5_000, { end: false }); // 8 bytes short
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.equal((await request(admin, { path: '/healthz' })).status, 200);
  });

  test('connections beyond maxConnections are refused; the ones open are still served', async () => {
    const admin = await slowServer({ maxConnections: 3, headersTimeout: 5_000, requestTimeout: 10_000 });
    const port = Number(admin.split(':')[1]);
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        held.push(socket);
        await within(5_000, 'a connection to open', new Promise((resolve) => socket.once('connect', resolve)));
      }
      // The fourth is accepted by the kernel and closed by the server at once, without an answer.
      assert.equal(await raw(admin, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), '');
      const first = held[0] as net.Socket;
      const answer = new Promise<string>((resolve) => {
        let text = '';
        first.setEncoding('utf8');
        first.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\r\n\r\n')) resolve(text);
        });
      });
      first.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(await within(5_000, 'an answer on a held connection', answer), /^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of held) socket.destroy();
    }
    await until('a new connection to be served', () =>
      request(admin, { path: '/healthz' }).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
  });

  test('an answer refusing credentials closes its connection', async () => {
    // A keep-alive timeout longer than the wait below: the connection closes because of the 401, not of idleness.
    const admin = await slowServer({ keepAliveTimeout: 20_000, headersTimeout: 20_000, requestTimeout: 30_000 }, TOKEN);
    const answer = await raw(admin, 'GET /info HTTP/1.1\r\nHost: x\r\n\r\n', 5_000, { end: false });
    assert.match(answer, /^HTTP\/1\.1 401 /);
    assert.match(answer, /\r\nConnection: close\r\n/i);
  });
});
