import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import type http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import type { ClusterOptions } from 'qilin';
import { get, isAlive, memoryLogger, nextEvent, portOf, testCluster, until, within } from './helpers.js';
import { pooledGet } from './http.js';
import { pooledClients, sleep } from './pooled.js';

describe('hung workers', () => {
  it('a worker whose event loop is blocked is replaced, then killed, with a reason', { timeout: 30_000 }, async (t) => {
    const logger = memoryLogger();
    const cluster = testCluster(t, 'blocks-event-loop.cjs', { workers: 2, heartbeatTimeout: '1s', killTimeout: 0.3, log: { respawns: true }, logger });
    const port = portOf(cluster);
    await cluster.run();
    const replace = nextEvent(cluster, 'replace');
    const reply = await get(await port, '/block');
    const pid = Number(/pid=(\d+)/.exec(reply.body)?.[1]);
    const hung = cluster.workers().find((w) => w.process.pid === pid);
    assert.ok(hung);
    const exit = nextEvent(cluster, 'exit', (worker) => worker === hung);
    const [worker, reason] = await replace;
    assert.deepEqual([worker, reason], [hung, 'unresponsive']);
    const [, , signal] = await exit;
    assert.ok(signal === 'SIGTERM' || signal === 'SIGKILL', `killed by a signal, not ${signal}`);
    await until('both slots to be served again', () => cluster.activeWorkers().every(Boolean) && !cluster.workers().includes(hung));
    assert.match(logger.lines.join('\n'), /worker \d+ in slot \d sent no heartbeat for .* \(event loop blocked\); starting its replacement/);
    assert.equal((await get(await port)).status, 200);
  });

  it('a worker blocked for less than heartbeatTimeout is kept', { timeout: 30_000 }, async (t) => {
    // heartbeatTimeout 2 s, so a heartbeat is due every 667 ms: a 1.5 s block makes the next one at most 1.5 s
    // late, short of the 2 s that mean hung.
    const cluster = testCluster(t, 'blocks-event-loop.cjs', { workers: 1, heartbeatTimeout: '2s' });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const [worker] = cluster.activeWorkers();
    const replaced: string[] = [];
    cluster.on('replace', (_w, reason) => replaced.push(reason));
    await get(port, '/block?ms=1500');
    // Answered once the loop runs again; then a window as long as the longest a hung worker could go unnoticed.
    assert.equal((await get(port)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2_700));
    assert.deepEqual(replaced, []);
    assert.equal(cluster.activeWorkers()[0], worker);
  });
});

describe('hung workers, false alarms', () => {
  it('a primary whose own event loop stalled does not take its workers for hung', { timeout: 30_000 }, async (t) => {
    // The test process is the primary. Blocking it for 3 s leaves every heartbeat sent meanwhile unread, as
    // when a container or VM is suspended and resumed: the workers were never hung.
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, heartbeatTimeout: '1s' });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const workers = cluster.activeWorkers();
    const replaced: string[] = [];
    cluster.on('replace', (_worker, reason) => replaced.push(reason));
    const end = Date.now() + 3_000;
    while (Date.now() < end);
    // Then longer than a hung worker takes to be noticed (1 s past its next heartbeat, due every 333 ms).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.deepEqual(replaced, []);
    assert.deepEqual(cluster.activeWorkers(), workers);
    assert.equal((await get(port)).status, 200);
  });
});

describe('maxMemory, a worker above it from the start', () => {
  it('is replaced after its slot’s backoff delay each time, not in a tight loop', { timeout: 30_000 }, async (t) => {
    const logger = memoryLogger();
    const cluster = testCluster(t, 'http-server.cjs', { workers: 1, maxMemory: '1MB', respawn: 0.2, backoff: 4, log: { respawns: true }, logger });
    await cluster.run();
    const replacements = () => logger.lines.filter((line) => line.includes('above maxMemory'));
    await until('three replacements', () => replacements().length >= 3, 20_000);
    const delays = replacements().map((line) => /starting its replacement in (.+)$/.exec(line)?.[1]);
    assert.deepEqual(delays.slice(0, 3), ['200 ms', '400 ms', '800 ms']);
  });
});

describe('crash containment', () => {
  it('an uncaught exception lets the worker’s other requests finish while its replacement starts', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'throws-on-request.cjs', { workers: 1, timeout: 5 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const crashed = cluster.activeWorkers()[0];
    assert.ok(crashed);
    const events: string[] = [];
    cluster.on('replace', (worker, reason) => events.push(`replace ${reason} ${worker === crashed}`));
    cluster.on('fork', () => events.push('fork'));
    cluster.on('exit', (worker, code) => events.push(`exit ${code} ${worker === crashed}`));
    const slowStarted = nextEvent(cluster, 'message');
    const slow = get(port, '/slow?ms=600');
    await slowStarted;
    const exit = nextEvent(cluster, 'exit', (worker) => worker === crashed);
    const listening = nextEvent(cluster, 'listening', (worker) => worker !== crashed);
    const boom = await get(port, '/boom');
    assert.equal(boom.status, 500, 'the request that threw is answered with a 500 at once');
    const reply = await slow;
    assert.equal(reply.status, 200, 'the other in-flight request finished');
    assert.match(reply.body, new RegExp(`slow done pid=${crashed.process.pid}`));
    const [, code] = await exit;
    assert.equal(code, 1);
    assert.deepEqual(events.slice(0, 2), ['replace crashed true', 'fork'], 'the replacement was forked at once, before the exit');
    // Its only listener gone, node:cluster closed the port-0 socket: the replacement listens on a new port.
    const [, address] = await listening;
    assert.equal((await get(address.port)).status, 200);
  });
});

describe('maxMemory, the hard limit', () => {
  it('a worker leaking 200 MB/s while it drains is killed once past 1.5 × maxMemory', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'leaks-memory.cjs', { workers: 1, maxMemory: '150MB', timeout: 20, logger: memoryLogger() });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const [leaking] = cluster.activeWorkers();
    const pid = leaking?.process.pid as number;
    const exit = nextEvent(cluster, 'exit', (worker) => worker === leaking, 20_000);
    let peak = 0;
    const sampler = setInterval(() => {
      try {
        const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (kib !== undefined) peak = Math.max(peak, Number(kib) * 1024);
      } catch {
        // Gone (an exited process's status has no VmRSS line either).
      }
    }, 10);
    t.after(() => clearInterval(sampler));
    // Over maxMemory: replaced gracefully; once its replacement serves, it drains, and its hook leaks.
    await get(port, '/grow?mb=130');
    const [, , signal] = await exit;
    clearInterval(sampler);
    assert.equal(signal, 'SIGKILL');
    const hard = 1.5 * 150 * 1024 * 1024;
    // One 20 MB step and the 50 ms between two readings, at most: the kill comes within a reading of the limit.
    assert.ok(peak < hard + 45 * 1024 * 1024, `peak ${(peak / 1048576).toFixed(0)} MiB against a hard limit of ${hard / 1048576} MiB`);
  });
});

describe('crash containment, the crash deadline', () => {
  it('a worker whose async callback threw leaves within 10 s even with a long timeout, its other requests cut there', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'throws-on-request.cjs', { workers: 1, timeout: 60 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const [crashed] = cluster.activeWorkers();
    const slowStarted = nextEvent(cluster, 'message');
    const slow = get(port, '/slow?ms=60000').then(
      () => 'answered',
      () => 'cut',
    );
    await slowStarted;
    const exit = nextEvent(cluster, 'exit', (worker) => worker === crashed, 20_000);
    assert.equal((await get(port, '/boom-later')).body, 'later');
    const thrownAt = Date.now();
    const [, code] = await exit;
    const after = Date.now() - thrownAt;
    assert.equal(code, 1, 'it exited by itself, at its own deadline');
    assert.ok(after >= 8_000, `its other requests had the time the deadline gives (${after} ms)`);
    assert.ok(after < 12_000, `gone by the 10 s crash deadline, not after the 60 s timeout (${after} ms)`);
    assert.equal(await slow, 'cut');
  });
});

describe('maxMemory', () => {
  it('a worker above maxMemory is replaced gracefully: its replacement is ready before it leaves', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'grows-memory.cjs', { workers: 1, maxMemory: '150MB' });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const big = cluster.activeWorkers()[0];
    assert.ok(big);
    const order: string[] = [];
    cluster.on('replace', (_w, reason) => order.push(`replace ${reason}`));
    cluster.on('ready', (worker) => order.push(`ready ${worker === big ? 'old' : 'new'}`));
    cluster.on('exit', (worker) => order.push(`exit ${worker === big ? 'old' : 'new'}`));
    const exit = nextEvent(cluster, 'exit', (worker) => worker === big);
    await get(port, '/grow?mb=200');
    await exit;
    assert.deepEqual(order, ['replace memory', 'ready new', 'exit old']);
    assert.notEqual(cluster.activeWorkers()[0], big);
  });
});

/** Reloads one worker of shutdown-hook.cjs and reads what its hook recorded (nothing, if it did not run). */
async function hookAfterReload(t: TestContext, options: ClusterOptions): Promise<{ file: string | undefined; record: { reason?: string } | null }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'qilin-hooks-'));
  const cluster = testCluster(t, 'shutdown-hook.cjs', { workers: 1, env: { HOOK_FILE: path.join(dir, 'hook') }, ...options });
  await cluster.run();
  const old = cluster.activeWorkers()[0];
  const exit = nextEvent(cluster, 'exit', (worker) => worker === old);
  await cluster.reload();
  await exit;
  const [file] = await readdir(dir);
  return { file, record: file ? JSON.parse(await readFile(path.join(dir, file), 'utf8')) : null };
}

describe('shutdown hooks', () => {
  it('run after in-flight requests finish, with the reason and the deadline', { timeout: 30_000 }, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'qilin-hooks-'));
    const cluster = testCluster(t, 'shutdown-hook.cjs', { workers: 1, timeout: 5, env: { HOOK_FILE: path.join(dir, 'hook') } });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const arrived = nextEvent(cluster, 'message');
    const request = get(port, '/');
    await arrived;
    await within(10_000, 'shutdown', cluster.shutdown());
    assert.equal((await request).body, 'done');
    const [file] = await readdir(dir);
    assert.ok(file, 'the hook ran');
    const record = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
    assert.deepEqual(record, { reason: 'shutdown', openRequests: 0, shuttingDown: true, deadlineInFuture: true, aborted: false });
  });

  it('run on a reload too, with reason "reload"', { timeout: 30_000 }, async (t) => {
    const { file, record } = await hookAfterReload(t, {});
    assert.ok(file);
    assert.equal(record?.reason, 'reload');
  });
});

describe('shutdown hooks and the deadline', () => {
  it('a hook that stops at the deadline’s abort still gets to clean up: SIGTERM comes after', { timeout: 30_000 }, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'qilin-hooks-'));
    const cluster = testCluster(t, 'hook-waits-for-deadline.cjs', { workers: 1, timeout: 2, env: { HOOK_FILE: path.join(dir, 'hook') } });
    await cluster.run();
    const [worker] = cluster.activeWorkers();
    assert.ok(worker);
    const exit = nextEvent(cluster, 'exit', (w) => w === worker);
    await within(10_000, 'shutdown', cluster.shutdown());
    const [, code, signal] = await exit;
    assert.deepEqual([code, signal], [0, null], 'it left by itself, not by SIGTERM');
    assert.equal(await readFile(path.join(dir, `hook.${worker.process.pid}`), 'utf8'), 'cleaned up after the abort');
  });

  it('run without the runtime too, on recluster’s disconnect message, with the reason', { timeout: 30_000 }, async (t) => {
    const { file, record } = await hookAfterReload(t, { runtime: false });
    assert.ok(file, 'the hook ran');
    assert.equal(record?.reason, 'reload');
  });
});

/** Opens an upgraded connection and resolves with the socket once the 101 answer has arrived. */
function upgrade(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    });
    socket.once('data', (chunk) => (chunk.toString().startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(chunk.toString()))));
    socket.once('error', reject);
  });
}

describe('requests cut at the deadline', () => {
  it('are logged in one line, with the timeout in force and how to raise it, and in a cut event', { timeout: 30_000 }, async (t) => {
    const logger = memoryLogger();
    // The runtime reports the cut a tenth of `timeout` before the SIGTERM: 200 ms here, time enough on a busy machine.
    const cluster = testCluster(t, 'http-server.cjs', { workers: 1, timeout: 2, logger, log: { respawns: false, reloads: false } });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const [old] = cluster.activeWorkers();
    const began = nextEvent(cluster, 'message', (_w, message) => (message as { event?: string }).event === 'slow-request');
    const slow = get(port, '/slow?ms=6000').then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await began;
    const cut = nextEvent(cluster, 'cut');
    await cluster.reload();
    const [worker, info] = await cut;
    assert.equal(worker, old);
    assert.deepEqual(info, { slot: 0, generation: 0, requests: 1, connections: 1, timeout: 2000, reason: 'reload' });
    assert.notEqual(await slow, 'answered');
    assert.deepEqual(logger.lines, [
      `qilin: worker ${old?.process.pid} in slot 0 reached its 2 seconds deadline (\`timeout\`) with 1 request under way on 1 open connection: cut. ` +
        'Raise `timeout` if requests (or WebSocket sessions) may take longer',
    ]);
  });

  it('are not reported when every request finished in time', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 1, timeout: 5 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const cuts: unknown[] = [];
    cluster.on('cut', (...args) => cuts.push(args));
    const began = nextEvent(cluster, 'message', (_w, message) => (message as { event?: string }).event === 'slow-request');
    const slow = get(port, '/slow?ms=300');
    await began;
    const [old] = cluster.activeWorkers();
    const exited = nextEvent(cluster, 'exit', (w) => w === old);
    await cluster.reload();
    assert.equal((await slow).status, 200);
    await exited;
    assert.deepEqual(cuts, []);
  });
});

describe('upgraded sockets', () => {
  it('are left to the app: a hook that closes them lets the worker leave early', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'holds-upgraded-socket.cjs', { workers: 1, timeout: 20, env: { CLOSE_ON_SHUTDOWN: '1' } });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const socket = await upgrade(port);
    const closed = new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
    });
    await within(10_000, 'shutdown well before the 20 s deadline', cluster.shutdown());
    assert.equal(await closed, 'bye');
  });

  it('are destroyed at the deadline when the app does not close them', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'holds-upgraded-socket.cjs', { workers: 1, timeout: 0.8 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const socket = await upgrade(port);
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const started = Date.now();
    await within(10_000, 'shutdown', cluster.shutdown());
    await within(5_000, 'the upgraded socket to close', closed);
    assert.ok(Date.now() - started >= 700, 'kept open until the deadline');
  });
});

describe('HTTP/2', () => {
  it('a session keeps working across a reload: the old worker sends GOAWAY and its streams finish', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'http2-server.cjs', { workers: 1, timeout: 5 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    const request = (session: http2.ClientHttp2Session) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    t.after(() => session.destroy());
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    assert.equal(await request(session), 'generation=0');
    const old = cluster.activeWorkers()[0]?.process.pid;
    await within(10_000, 'the reload', cluster.reload());
    await within(5_000, 'GOAWAY from the old worker', goaway);
    const fresh = http2.connect(`http://127.0.0.1:${port}`);
    t.after(() => fresh.destroy());
    assert.equal(await request(fresh), 'generation=1');
    await until('the old worker to exit', () => !isAlive(old));
  });
});

describe('pooled keep-alive clients and a retiring worker', () => {
  it('requests sent on pooled connections while its event loop is blocked past the idle grace are all answered', { timeout: 30_000 }, async (t) => {
    const { port, agents, oldPid, reload } = await pooledClients(t, 7);
    const [blocker, ...clients] = agents as [http.Agent, ...http.Agent[]];
    const { reloaded } = await reload();
    // Retirement has begun. One request keeps the old worker's event loop busy for 1.6 s, past the 1 s mark
    // where idle connections were closed; the others are sent meanwhile, and wait in the kernel, unread.
    const blocked = pooledGet(port, blocker, '/block?ms=1600');
    const replies = Promise.allSettled(clients.map((agent, i) => sleep(300 + 150 * i).then(() => pooledGet(port, agent))));
    assert.equal((await blocked).pid, oldPid);
    const results = await replies;
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))),
      clients.map(() => ({ pid: oldPid, reused: true })),
      'each request was answered by the old worker on the connection it was sent on',
    );
    await within(15_000, 'the reload', reloaded);
  });

  it('an idle pooled connection moves to the new worker: fetch, and node:http with a timeout, reuse it until their own drop time', {
    timeout: 30_000,
  }, async (t) => {
    // An agent with a `timeout` honours the `Keep-Alive: timeout=5` hint and drops the connection 1 s before it.
    const { port, agents, oldPid, reload } = await pooledClients(t, 1, { timeout: 60_000 });
    const agent = agents[0] as http.Agent;
    // fetch (undici) honours the hint too, and drops an idle connection 2 s before it.
    const fetchPid = async (): Promise<number> => Number(/pid=(\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/`)).text())?.[1]);
    const { reloaded, lastUsed, freshPid } = await reload(async () => assert.equal(await fetchPid(), oldPid));
    // The old worker hands its idle connections over and leaves, long before the clients would drop them.
    await within(5_000, 'the reload', reloaded);
    await until('the old worker to exit', () => !isAlive(oldPid));
    await sleep(lastUsed + 2_700 - performance.now());
    assert.ok(performance.now() - lastUsed < 3_000, 'the fetch goes out before fetch would drop the connection');
    assert.equal(await fetchPid(), freshPid, 'fetch was answered by the new worker');
    await sleep(lastUsed + 3_700 - performance.now());
    assert.ok(performance.now() - lastUsed < 4_000, 'the request goes out before the agent would drop the connection');
    assert.deepEqual(await pooledGet(port, agent), { pid: freshPid, reused: true }, 'answered on the connection the agent kept, by the new worker');
  });
});

describe('what the runtime loads into a worker', () => {
  it('a plain HTTP app runs without node:tls and node:https, which cost each worker start about 22 ms of CPU', { timeout: 30_000 }, async (t) => {
    const cluster = testCluster(t, 'builtins-loaded.cjs', { workers: 1 });
    const port = await Promise.all([portOf(cluster), cluster.run()]).then(([p]) => p);
    assert.equal((await get(port)).body, 'none');
    // The runtime is in this worker and tracks its server (it looked at what kind of server it is when it
    // listened): it counted the response.
    const [counts] = [...(await cluster.responseCounts(5_000)).values()];
    assert.equal(counts?.responses, 1);
  });
});
