import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { type TestContext, describe, it } from 'node:test';
import tls from 'node:tls';
import { IDLE_GRACE, ServerRegistry, idleLimit, now } from '../../src/worker/drain.js';
import { until, within } from '../wait.js';

const key = readFileSync(new URL('../fixtures/tls/key.pem', import.meta.url));
const cert = readFileSync(new URL('../fixtures/tls/cert.pem', import.meta.url));

/** Tracks `server` the way the runtime does (before listen), listens on an ephemeral port, and closes everything when the test ends. */
async function listen(t: TestContext, registry: ServerRegistry, server: net.Server): Promise<number> {
  registry.track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    registry.destroyAll();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw HTTP/1.1 client on one connection, to see exactly when the server answers and when it closes. */
function rawClient(t: TestContext, port: number) {
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.setEncoding('latin1');
  let received = '';
  let closed = false;
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  return {
    send: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`),
    received: () => received,
    closed: () => closed,
  };
}

describe('draining HTTP/1', () => {
  it('a keep-alive connection whose response ends after the grace window gets a full grace for its next request', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    // GET /stream sends its headers (with keep-alive) at once and ends its body when the test says so.
    let endStream = (): void => {};
    const server = http.createServer((req, res) => {
      if (req.url !== '/stream') return res.end('next');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('start\n');
      endStream = () => res.end('end\n');
    });
    const port = await listen(t, registry, server);
    const client = rawClient(t, port);
    client.send('/stream');
    await until('the streamed headers', () => client.received().includes('start'));
    const drained = registry.drain(now() + 10_000);
    // The response ends after the grace window has passed for every connection idle since retirement began.
    await delay(IDLE_GRACE + 200);
    endStream();
    await until('the end of the streamed body', () => client.received().includes('0\r\n\r\n'));
    assert.match(client.received(), /connection: keep-alive/i, 'the streamed response went out before retirement, with keep-alive');
    // A client reuses the connection a little later, as a pooled client does for its next request.
    await delay(200);
    assert.equal(client.closed(), false, 'the connection is still open for the next request');
    client.send('/next');
    await until('the connection to close after the answer', () => client.closed());
    const second = client.received().slice(client.received().indexOf('0\r\n\r\n') + 5);
    assert.match(second, /^HTTP\/1\.1 200/);
    assert.match(second, /connection: close/i);
    assert.match(second, /next$/);
    await within(5_000, 'the drain', drained);
  });

  it('closes a connection idle for the grace window, and finishes once none is left', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((_req, res) => res.end('ok'));
    // No keep-alive timeout (Node then advertises none): the grace alone applies.
    server.keepAliveTimeout = 0;
    const port = await listen(t, registry, server);
    const client = rawClient(t, port);
    client.send('/');
    await until('the answer', () => client.received().includes('ok'));
    const start = now();
    await within(5_000, 'the drain', registry.drain(now() + 10_000));
    assert.ok(now() - start >= IDLE_GRACE - 50, 'the idle connection was left open through the grace window');
    await until('the connection to close', () => client.closed());
  });

  it('keeps an idle keep-alive connection open for as long as the server advertised it, not just the grace window', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = IDLE_GRACE + 1_500;
    const port = await listen(t, registry, server);
    const client = rawClient(t, port);
    client.send('/');
    await until('the answer', () => client.received().includes('ok'));
    assert.match(client.received(), /keep-alive: timeout=2/i, 'the response told the client how long it may reuse the connection');
    const drained = registry.drain(now() + 20_000);
    // Reused after the grace window, within the advertised timeout, as a pooled client may.
    await delay(IDLE_GRACE + 1_000);
    assert.equal(client.closed(), false, 'the connection is still open after the grace window');
    client.send('/again');
    await until('the connection to close after the answer', () => client.closed());
    assert.match(client.received().slice(client.received().lastIndexOf('HTTP/1.1')), /^HTTP\/1\.1 200[\s\S]*connection: close[\s\S]*ok$/i);
    await within(5_000, 'the drain', drained);
  });

  it('a request that waits unread in the kernel while the event loop is blocked past the idle limit is answered, not reset', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 0;
    const port = await listen(t, registry, server);
    const client = rawClient(t, port);
    client.send('/');
    await until('the answer', () => client.received().includes('ok'));
    const drained = registry.drain(now() + 10_000);
    await delay(IDLE_GRACE - 200);
    // The client sends its next request; before this process reads it, the event loop is blocked past the
    // grace mark (a slow handler would do the same in a worker). When it runs again, the drain's timer comes
    // before the read: the connection looks idle there, its request still in the kernel.
    client.send('/next');
    const blockedUntil = now() + 400;
    while (now() < blockedUntil);
    await until('the connection to close', () => client.closed());
    assert.match(
      client.received().slice(client.received().lastIndexOf('HTTP/1.1')),
      /^HTTP\/1\.1 200[\s\S]*connection: close[\s\S]*ok$/i,
      'the request was answered',
    );
    await within(5_000, 'the drain', drained);
  });

  it('a server that closes and listens again is instrumented once', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((_req, res) => res.end('ok'));
    const before = { connection: server.listenerCount('connection'), close: server.listenerCount('close') };
    await listen(t, registry, server);
    // Node warns of a leak past 10 listeners of one event: twelve restarts would pass that if each added one.
    for (let i = 0; i < 12; i += 1) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      registry.track(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    assert.equal(server.listenerCount('connection'), before.connection + 1);
    assert.equal(server.listenerCount('close'), before.close + 1);
    assert.equal(registry.size, 1);
  });
});

describe('draining HTTP/2', () => {
  it('an HTTP/2 server over TLS drains its HTTP/1 (allowHTTP1) keep-alive connections too', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http2.createSecureServer({ key, cert, allowHTTP1: true }, (_req, res) => res.end('ok'));
    const port = await listen(t, registry, server);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert });
    t.after(() => agent.destroy());
    const get = () =>
      new Promise<{ body: string; connection: string | undefined }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/', agent, servername: 'localhost' }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ body, connection: res.headers.connection }));
          })
          .on('error', reject);
      });
    assert.deepEqual(await get(), { body: 'ok', connection: 'keep-alive' });
    const drained = registry.drain(now() + 60_000);
    // A request that arrives on the open connection while draining is served, and told the connection closes.
    assert.deepEqual(await get(), { body: 'ok', connection: 'close' });
    // With nothing left but that closed connection, the drain ends long before its deadline.
    await within(5_000, 'the drain', drained);
  });

  it('a session whose TLS handshake ends after draining began gets a GOAWAY', { timeout: 20_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http2.createSecureServer({ key, cert }, (_req, res) => res.end('ok'));
    const port = await listen(t, registry, server);
    // The TCP connection is accepted before retirement; its TLS handshake and HTTP/2 session come after.
    const accepted = new Promise((resolve) => server.once('connection', resolve));
    const raw = net.connect(port, '127.0.0.1');
    t.after(() => raw.destroy());
    await within(5_000, 'the server to accept the connection', accepted);
    const drained = registry.drain(now() + 60_000);
    const session = http2.connect(`https://localhost:${port}`, {
      createConnection: () => tls.connect({ socket: raw, servername: 'localhost', ca: cert, ALPNProtocols: ['h2'] }),
    });
    t.after(() => session.destroy());
    session.on('error', () => {});
    await within(5_000, 'a GOAWAY on the new session', new Promise((resolve) => session.once('goaway', resolve)));
    session.close();
    await within(5_000, 'the drain', drained);
  });
});

describe('idle limit', () => {
  it("is the server's keep-alive timeout when longer than the grace window, else the grace", () => {
    const server = http.createServer();
    assert.equal(idleLimit(server), 5_000, "Node's default keepAliveTimeout");
    server.keepAliveTimeout = 65_000;
    assert.equal(idleLimit(server), 65_000);
    server.keepAliveTimeout = 300;
    assert.equal(idleLimit(server), IDLE_GRACE);
    server.keepAliveTimeout = 0;
    assert.equal(idleLimit(server), IDLE_GRACE, 'no keep-alive timeout: nothing advertised');
    assert.equal(idleLimit(net.createServer()), IDLE_GRACE);
  });
});

describe('recycling keep-alive connections', () => {
  it('the next response on each connection open at recycle() goes with Connection: close, once; later connections keep alive', {
    timeout: 10_000,
  }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((req, res) => res.end(`answer to ${req.url}`));
    const port = await listen(t, registry, server);
    const before = rawClient(t, port);
    before.send('/one');
    await until('the first answer', () => before.received().includes('answer to /one'));
    assert.match(before.received(), /keep-alive/i);

    assert.equal(registry.recycle(), 1);
    const after = rawClient(t, port);
    after.send('/fresh');
    await until('the new connection’s answer', () => after.received().includes('answer to /fresh'));
    assert.doesNotMatch(after.received(), /connection: close/i, 'a connection made after recycle() is left alone');

    before.send('/two');
    await until('the marked connection to be closed after its whole answer', () => before.closed());
    const second = before.received().slice(before.received().indexOf('answer to /one') + 'answer to /one'.length);
    assert.match(second, /connection: close/i);
    assert.match(second, /answer to \/two$/);
    after.send('/again');
    await until('the other connection to answer again', () => after.received().includes('answer to /again'));
    assert.equal(after.closed(), false);
    assert.equal(server.listenerCount('request'), 1, 'once nothing is marked, the server is not watched any more');
  });
});

describe('rebalancing kept-alive connections', () => {
  it('recycle(limit, only) asks at most `limit` of the connections `only` accepts to reconnect', { timeout: 10_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((req, res) => res.end(`answer to ${req.url}`));
    const port = await listen(t, registry, server);
    const clients = [rawClient(t, port), rawClient(t, port), rawClient(t, port)];
    for (const [i, client] of clients.entries()) client.send(`/${i}`);
    await until('every first answer', () => clients.every((c, i) => c.received().includes(`answer to /${i}`)));
    const served = new Set<net.Socket>();
    server.on('request', (req) => served.add(req.socket));
    // Only the connections of the first two clients are candidates; the third is left alone.
    for (const [i, client] of clients.slice(0, 2).entries()) client.send(`/again-${i}`);
    await until('the candidates to be served again', () => served.size === 2);
    assert.equal(
      registry.recyclable((socket) => served.has(socket)),
      2,
    );
    assert.equal(
      registry.recycle(1, (socket) => served.has(socket)),
      1,
    );
    assert.equal(
      registry.recyclable((socket) => served.has(socket)),
      1,
      'a connection asked already is not counted again',
    );
    for (const [i, client] of clients.entries()) client.send(`/last-${i}`);
    await until('every last answer', () => clients.every((c, i) => c.received().includes(`answer to /last-${i}`)));
    const closing = clients.map((c) => /connection: close/i.test(c.received()));
    assert.equal(closing.filter(Boolean).length, 1, 'one client was asked to reconnect');
    assert.equal(closing[2], false, 'not the one `only` left out');
  });

  it('passNew passes on the next new connections before anything is read from them, then stops', { timeout: 10_000 }, async (t) => {
    const registry = new ServerRegistry();
    const server = http.createServer((req, res) => res.end(`answer to ${req.url}`));
    const port = await listen(t, registry, server);
    const passed: { port: number; bytesRead: number }[] = [];
    registry.passNew(1, 5_000, (socket, on) => {
      passed.push({ port: on, bytesRead: socket.bytesRead });
      socket.destroy();
      return true;
    });
    const first = rawClient(t, port);
    first.send('/first');
    await until('the first connection to be passed on', () => passed.length === 1);
    assert.deepEqual(passed, [{ port, bytesRead: 0 }]);
    const second = rawClient(t, port);
    second.send('/second');
    await until('the next connection to be served here', () => second.received().includes('answer to /second'));
    assert.equal(passed.length, 1);
  });
});
