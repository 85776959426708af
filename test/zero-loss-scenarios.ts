// Reloads under load lose no request, as a client sees it: the scenarios, run in each balancing mode by the zero-loss test files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { type TestContext, describe, it } from 'node:test';
import type { Balance, Cluster } from 'qilin';
import { isAlive, nextEvent, portOf, testCluster, until, within } from './helpers.js';
import { pooledGet } from './http.js';
import { pooledClients, sleep } from './pooled.js';

interface Tally {
  ok: number;
  failed: number;
  errors: Map<string, number>;
}

type Once = (fail: (what: string) => void, ok: () => void) => Promise<void>;

/** Requests on keep-alive connections through Node's agent (an https.Agent for `https.get`), as most HTTP clients make them. */
function keepAliveRequest(port: number, agent: http.Agent, get: typeof http.get = http.get): Once {
  return (fail, ok) =>
    new Promise<void>((resolve) => {
      const request = get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode === 200) ok();
          else fail(`HTTP ${response.statusCode}`);
          resolve();
        });
        response.on('error', (error: NodeJS.ErrnoException) => {
          fail(error.code ?? error.message);
          resolve();
        });
      });
      request.setTimeout(10_000, () => request.destroy(new Error('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) => {
        fail(error.code ?? error.message);
        resolve();
      });
    });
}

/**
 * A new connection per request (`Connection: close`), with the request written a few milliseconds after the
 * connection opens, as network latency spaces them for real clients: the server has accepted the socket
 * but not parsed a request on it yet, which is when a closing server drops it.
 */
function newConnectionRequest(port: number): Once {
  return (fail, ok) =>
    new Promise<void>((resolve) => {
      let answer = '';
      const socket = net.connect(port, '127.0.0.1');
      socket.setEncoding('latin1');
      socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
      socket.on('connect', () => {
        setTimeout(() => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), 5);
      });
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        fail(error.code ?? error.message);
        socket.destroy();
      });
      socket.on('close', (hadError) => {
        if (!hadError) {
          if (answer.startsWith('HTTP/1.1 200')) ok();
          else fail(answer === '' ? 'closed without an answer' : `answered ${answer.split('\r\n')[0]}`);
        }
        resolve();
      });
    });
}

/** Sends requests from `concurrency` loops until `stop()` is called; counts every failure a user would see. */
function loadGenerator(once: Once, concurrency: number) {
  const tally: Tally = { ok: 0, failed: 0, errors: new Map() };
  let running = true;
  const fail = (what: string) => {
    tally.failed += 1;
    tally.errors.set(what, (tally.errors.get(what) ?? 0) + 1);
  };
  const ok = () => {
    tally.ok += 1;
  };
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await once(fail, ok);
  });
  return {
    tally,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Runs `once` from 16 loops while the cluster reloads `reloads` times, 250 ms apart; returns what the clients saw. */
async function reloadUnderLoad(t: TestContext, cluster: Cluster, once: Once, reloads: number): Promise<Tally> {
  const load = loadGenerator(once, 16);
  t.after(() => load.stop());
  try {
    for (let i = 0; i < reloads; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      await within(15_000, `reload ${i + 1}`, cluster.reload());
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  } finally {
    await load.stop();
  }
  return load.tally;
}

/**
 * The zero-loss scenarios, for one balancing mode. node:cluster's scheduling policy is one per process, so each
 * mode is run by its own test file (node:test runs each file in its own process).
 */
export function zeroLossSuites(balance: Balance): void {
  for (const mode of ['keep-alive', 'a new connection per request'] as const) {
    describe(`zero lost requests across reloads, ${mode}, balance '${balance}'`, () => {
      it('a naive app, reloaded four times under load, fails no request', { timeout: 60_000 }, async (t) => {
        const cluster = testCluster(t, 'http-server.cjs', { workers: 2, timeout: 5, balance });
        const port = portOf(cluster);
        await within(10_000, 'the first generation', cluster.run());
        assert.equal(cluster.balance, balance, `the cluster runs with balance '${balance}'`);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
        t.after(() => agent.destroy());
        const once = mode === 'keep-alive' ? keepAliveRequest(await port, agent) : newConnectionRequest(await port);
        const tally = await reloadUnderLoad(t, cluster, once, 4);
        assert.equal(cluster.generation, 4);
        assert.ok(tally.ok > 100, `requests flowed throughout (${tally.ok})`);
        assert.equal(tally.failed, 0, `failed requests: ${JSON.stringify(Object.fromEntries(tally.errors))}`);
      });
    });
  }

  describe(`zero lost requests across reloads, HTTPS with keep-alive, balance '${balance}'`, () => {
    it('a naive HTTPS app, reloaded three times under load, fails no request', { timeout: 60_000 }, async (t) => {
      const cluster = testCluster(t, 'https-server.cjs', { workers: 2, timeout: 5, balance });
      const port = portOf(cluster);
      await within(10_000, 'the first generation', cluster.run());
      const ca = readFileSync(new URL('./fixtures/tls/cert.pem', import.meta.url));
      const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca });
      t.after(() => agent.destroy());
      const tally = await reloadUnderLoad(t, cluster, keepAliveRequest(await port, agent, https.get), 3);
      assert.equal(cluster.generation, 3);
      assert.ok(tally.ok > 100, `requests flowed throughout (${tally.ok})`);
      assert.equal(tally.failed, 0, `failed requests: ${JSON.stringify(Object.fromEntries(tally.errors))}`);
    });
  });

  describe(`idle keep-alive connections across a retirement, balance '${balance}'`, () => {
    it('the only worker crashes: its idle connections wait in the primary for its replacement, which answers on them', { timeout: 60_000 }, async (t) => {
      const { cluster, port, agents, oldPid } = await pooledClients(t, 3, {}, { timeout: 1, balance });
      await Promise.all(agents.map((agent) => pooledGet(port, agent)));
      const replaced = nextEvent(cluster, 'ready', (worker) => worker.process.pid !== oldPid);
      // Answered with `Connection: close`, then the worker throws from a timer: it drains and exits.
      assert.equal((await pooledGet(port, new http.Agent({ keepAlive: false }), '/crash')).pid, oldPid);
      await until('the crashed worker to exit', () => !isAlive(oldPid));
      const [fresh] = await within(10_000, 'the replacement', replaced);
      const replies = await Promise.all(agents.map((agent) => pooledGet(port, agent)));
      assert.deepEqual(
        replies,
        agents.map(() => ({ pid: fresh.process.pid, reused: true })),
        'answered by the replacement, on the connections the clients kept',
      );
    });

    it('with the development timeout of 1 s, a pooled connection reused at any moment of the retirement, or after it, is answered on that connection', {
      timeout: 60_000,
    }, async (t) => {
      // Sent on connections the old worker holds idle, from the moment its retirement begins: around the
      // moment they are handed over, at the 450 ms where a 1 s timeout used to close them, at the 1 s of
      // SIGTERM, and after the old worker has gone. Node's agent without a `timeout` keeps a free socket until
      // the server closes it, so each request goes out on the connection it already has.
      const delays = [0, 20, 60, 90, 100, 110, 130, 200, 430, 450, 470, 900, 1_000, 1_100];
      const { port, agents, oldPid, reload } = await pooledClients(t, delays.length, {}, { timeout: 1, balance });
      const { reloaded, freshPid } = await reload();
      const replies = await Promise.allSettled(delays.map((ms, i) => sleep(ms).then(() => pooledGet(port, agents[i] as http.Agent))));
      assert.deepEqual(
        replies.map(
          (reply, i) =>
            `${delays[i]} ms: ${reply.status === 'fulfilled' ? (reply.value.reused ? 'answered on its connection' : 'on a new connection') : String(reply.reason)}`,
        ),
        delays.map((ms) => `${ms} ms: answered on its connection`),
      );
      await within(5_000, 'the reload', reloaded);
      await until('the old worker to exit', () => !isAlive(oldPid));
      // A request the old worker answered went out with `Connection: close`, so that client opens a new
      // connection next; the connections it held idle (the later delays) were handed over, and are still open.
      const after = await Promise.all(agents.map((agent) => pooledGet(port, agent)));
      assert.deepEqual(
        after.map((reply, i) => ({ delay: delays[i], pid: reply.pid, reused: reply.reused && (delays[i] as number) >= 200 })),
        delays.map((delay) => ({ delay, pid: freshPid, reused: delay >= 200 })),
        'the connections handed over outlived the old worker, served by the new one',
      );
    });
  });
}
