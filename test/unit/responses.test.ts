// Which connections rebalancing counts as busy, and which as lasted (the only ones it moves), window by window, on a real keep-alive connection.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { type TestContext, describe, it } from 'node:test';
import { LASTING_WINDOWS, countHttp2Responses, countResponses, hasLasted, isBusy, nextLoadWindow, responseCounts } from '../../src/worker/responses.js';

/** An HTTP server in this process, the server side of its one keep-alive connection, and a function that sends `n` requests on it, one after another. */
async function oneConnection(t: TestContext) {
  countResponses();
  let accepted: net.Socket | null = null;
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 503 : 200;
    res.end('ok');
  });
  server.on('connection', (socket: net.Socket) => {
    accepted = socket;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => {
    agent.destroy();
    server.close();
  });
  const { port } = server.address() as net.AddressInfo;
  const get = (path: string) =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const send = async (n: number, path = '/'): Promise<net.Socket> => {
    for (let i = 0; i < n; i++) await get(path);
    assert.ok(accepted !== null);
    return accepted;
  };
  return { send };
}

describe('busy and lasting connections (rebalancing)', () => {
  it('counts every response and those with a 5xx status', async (t) => {
    const { send } = await oneConnection(t);
    const before = responseCounts();
    await send(3);
    await send(1, '/fail');
    const after = responseCounts();
    assert.equal(after.responses - before.responses, 4);
    assert.equal(after.errors - before.errors, 1);
  });

  it('calls a connection busy from its second response in a window, and lasted once it was busy in each of the last windows', async (t) => {
    assert.equal(LASTING_WINDOWS, 3);
    const { send } = await oneConnection(t);
    nextLoadWindow();
    const socket = await send(1);
    assert.equal(isBusy(socket), false, 'one response is not load');
    await send(1);
    assert.equal(isBusy(socket), true);
    assert.equal(hasLasted(socket), false, 'busy in one window');
    nextLoadWindow();
    assert.equal(isBusy(socket), false, 'a new window starts empty');
    assert.equal(isBusy(socket, true), true, 'it was busy in the window just counted');
    await send(2);
    assert.equal(hasLasted(socket), false, 'busy in two windows');
    nextLoadWindow();
    await send(2);
    assert.equal(hasLasted(socket), true, 'busy in three windows in a row');
    nextLoadWindow();
    assert.equal(hasLasted(socket), false, 'nothing yet in the new window');
    assert.equal(hasLasted(socket, true), true, 'as of the window just counted');
  });

  it('starts over after a window in which the connection was not busy', async (t) => {
    const { send } = await oneConnection(t);
    nextLoadWindow();
    const socket = await send(2);
    nextLoadWindow();
    await send(2);
    nextLoadWindow();
    await send(1);
    nextLoadWindow();
    await send(2);
    nextLoadWindow();
    await send(2);
    assert.equal(hasLasted(socket), false, 'busy in the last two windows only');
    nextLoadWindow();
    await send(2);
    assert.equal(hasLasted(socket), true);
  });
});

describe('HTTP/2 responses', () => {
  /** An HTTP/2 (cleartext) server in this process, counted as the runtime counts it, and a client that sends each request on a session of its own. */
  async function http2Server(t: TestContext, handler: (server: http2.Http2Server) => void) {
    countResponses();
    const server = http2.createServer();
    handler(server);
    countHttp2Responses(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    return (path: string) =>
      new Promise<number>((resolve, reject) => {
        const session = http2.connect(`http://127.0.0.1:${port}`);
        session.on('error', reject);
        const stream = session.request({ ':path': path });
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.resume();
        stream.on('end', () => {
          session.close();
          resolve(status);
        });
        stream.on('error', reject);
      });
  }

  it("counts the core API's responses and those with a 5xx status, the first stream's included", async (t) => {
    const get = await http2Server(t, (server) =>
      server.on('stream', (stream, headers) => {
        stream.respond({ ':status': headers[':path'] === '/fail' ? 502 : 200 });
        stream.end('ok');
      }),
    );
    const before = responseCounts();
    assert.deepEqual([await get('/'), await get('/'), await get('/fail')], [200, 200, 502]);
    const after = responseCounts();
    assert.deepEqual({ responses: after.responses - before.responses, errors: after.errors - before.errors }, { responses: 3, errors: 1 });
  });

  it('counts the compatibility API the same way', async (t) => {
    const get = await http2Server(t, (server) =>
      server.on('request', (req, res) => {
        res.statusCode = req.url === '/fail' ? 500 : 200;
        res.end('ok');
      }),
    );
    const before = responseCounts();
    assert.deepEqual([await get('/fail'), await get('/')], [500, 200]);
    const after = responseCounts();
    assert.deepEqual({ responses: after.responses - before.responses, errors: after.errors - before.errors }, { responses: 2, errors: 1 });
  });
});
