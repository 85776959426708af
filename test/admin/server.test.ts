// The admin interface against a real cluster: credentials, /info, /metrics, reload, scale and quit by POST only, and bad input that disturbs nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Running, appAnswers, basic, envelope, parsePrometheus, raw, request, sampleValue, startCluster, suiteCleanup, until, within } from './helpers.js';

const MB = 1_048_576;
const USER = 'ops';
const PASSWORD = 'correct horse battery staple';
const TOKEN = 'tok-3f9a1c7e5b2d4f60';
const BASIC = { authorization: basic(USER, PASSWORD) };
const BEARER = { authorization: `Bearer ${TOKEN}` };

describe('the admin interface with credentials', { timeout: 90_000 }, () => {
  const cleanup = suiteCleanup();
  let running: Running;
  let dir: string;
  let flag: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'qilin-admin-'));
    flag = path.join(dir, 'fail');
    running = await startCluster(cleanup.add, {
      env: { FAIL_FLAG_FILE: flag },
      admin: { listen: 0, username: USER, password: PASSWORD, token: TOKEN },
    });
  });
  after(async () => {
    await cleanup.run();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (urlPath: string, headers = {}) => request(running.admin, { path: urlPath, headers });
  const post = (urlPath: string, headers = {}) => request(running.admin, { method: 'POST', path: urlPath, headers });

  test('listens on 127.0.0.1 at the port the adminListening event tells', () => {
    assert.match(running.admin, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(running.admin, '127.0.0.1:0');
  });

  test('without credentials every request gets 401 with WWW-Authenticate and nothing else', async () => {
    const calls: [string, string][] = [
      ['GET', '/info'],
      ['GET', '/metrics'],
      ['GET', '/healthz'],
      ['GET', '/readyz'],
      ['POST', '/reload'],
      ['POST', '/quit'],
      ['POST', '/scale?workers=1'],
      ['GET', '/no-such-path'],
      ['GET', '/reload'],
      ['DELETE', '/info'],
    ];
    for (const [method, urlPath] of calls) {
      const reply = await request(running.admin, { method, path: urlPath });
      assert.equal(reply.status, 401, `${method} ${urlPath}`);
      assert.deepEqual(reply.headers['www-authenticate']?.split(/,\s*(?=Basic|Bearer)/), ['Basic realm="qilin", charset="UTF-8"', 'Bearer realm="qilin"']);
      assert.deepEqual(envelope(reply), { error: 'Unauthorized', result: null });
    }
    assert.equal(running.cluster.generation, 0, 'no reload happened');
    assert.equal(running.cluster.activeWorkers().length, 2, 'no scaling happened');
    assert.equal(running.cluster.workers().length, 2, 'nothing stopped');
  });

  test('wrong credentials get 401, Basic and bearer alike', async () => {
    const wrong = [
      basic(USER, 'wrong'),
      basic('root', PASSWORD),
      basic(USER, PASSWORD.slice(0, -1)),
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${PASSWORD}`,
      `Basic ${TOKEN}`,
      'Digest username="ops"',
    ];
    for (const authorization of wrong) {
      const reply = await get('/info', { authorization });
      assert.equal(reply.status, 401, authorization);
      assert.deepEqual(envelope(reply), { error: 'Unauthorized', result: null });
    }
  });

  test('the right credentials get 200, Basic and bearer alike', async () => {
    for (const headers of [BASIC, BEARER]) {
      for (const urlPath of ['/info', '/metrics', '/healthz', '/readyz']) {
        const reply = await get(urlPath, headers);
        assert.equal(reply.status, 200, `${urlPath} with ${headers.authorization.split(' ')[0]}`);
      }
    }
    assert.deepEqual(envelope(await get('/healthz', BEARER)), { error: null, result: { alive: true } });
    assert.deepEqual(envelope(await get('/readyz', BEARER)), {
      error: null,
      result: { ready: true, slots: 2, readySlots: 2, required: 2, accepting: 2, stopping: false },
    });
  });

  test('/info gives the primary and each worker with pid, CPU %, MB and uptime, and the totals', async () => {
    const reply = await get('/info', BEARER);
    assert.equal(reply.status, 200);
    assert.match(reply.headers['content-type'] ?? '', /^application\/json/);
    const { error, result } = envelope(reply);
    assert.equal(error, null);
    const { master, workers, total, cluster } = result;

    assert.equal(master.pid, process.pid);
    assert.equal(typeof master.cpu, 'number');
    assert.ok(master.cpu >= 0);
    // MB, not bytes or KB: close to what the process itself reports.
    const rssMB = process.memoryUsage.rss() / MB;
    assert.ok(master.mem > rssMB * 0.5 && master.mem < rssMB * 2, `primary mem ${master.mem} MB vs rss ${rssMB} MB`);
    const seconds = (u: { days: number; hours: number; minutes: number; seconds: number }): number =>
      u.days * 86_400 + u.hours * 3_600 + u.minutes * 60 + u.seconds;
    assert.equal(seconds(master.uptime), master.uptimeSeconds);
    assert.ok(Math.abs(master.uptimeSeconds - process.uptime()) <= 2, `uptime ${master.uptimeSeconds} vs ${process.uptime()}`);

    const active = running.cluster.activeWorkers().map((w) => w?.process.pid);
    assert.deepEqual(
      workers.map((w: { slot: number; pid: number }) => [w.slot, w.pid]),
      active.map((pid, slot) => [slot, pid]),
    );
    for (const w of workers) {
      assert.equal(w.state, 'ready');
      assert.equal(w.active, true);
      assert.equal(w.generation, 0);
      assert.equal(w.restarts, 0);
      assert.ok(typeof w.cpu === 'number' && w.cpu >= 0, `worker cpu ${w.cpu}`);
      assert.ok(w.mem > 5 && w.mem < 1024, `worker mem ${w.mem} should be in MB`);
      assert.equal(seconds(w.uptime), w.uptimeSeconds);
      assert.ok(w.uptimeSeconds <= master.uptimeSeconds);
    }
    const sum = (key: 'cpu' | 'mem'): number => master[key] + workers.reduce((acc: number, w: Record<string, number>) => acc + (w[key] ?? 0), 0);
    assert.ok(Math.abs(total.cpu - sum('cpu')) <= 0.3, `total cpu ${total.cpu} vs ${sum('cpu')}`);
    assert.ok(Math.abs(total.mem - sum('mem')) <= 0.3, `total mem ${total.mem} vs ${sum('mem')}`);
    assert.deepEqual(cluster, { generation: 0, slots: 2, readySlots: 2, reloading: null });
  });

  test('/metrics is Prometheus text with the cluster’s metrics and the primary’s own', async () => {
    const reply = await get('/metrics', BASIC);
    assert.equal(reply.status, 200);
    assert.match(reply.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    const { samples, types } = parsePrometheus(reply.body);
    assert.equal(types.get('qilin_workers'), 'gauge');
    assert.equal(types.get('qilin_worker_restarts_total'), 'counter');
    assert.equal(types.get('qilin_worker_crashes_total'), 'counter');
    assert.equal(types.get('qilin_reloads_total'), 'counter');
    assert.equal(types.get('qilin_reload_duration_seconds'), 'histogram');
    assert.equal(sampleValue(samples, 'qilin_workers', { state: 'ready' }), 2);
    assert.equal(sampleValue(samples, 'qilin_workers', { state: 'starting' }), 0);
    assert.equal(sampleValue(samples, 'qilin_slots'), 2);
    assert.equal(sampleValue(samples, 'qilin_slots_ready'), 2);
    assert.equal(sampleValue(samples, 'qilin_worker_restarts_total', { slot: '0' }), 0);
    assert.equal(sampleValue(samples, 'qilin_reloads_total', { outcome: 'failed' }), 0);
    for (const worker of running.cluster.activeWorkers()) {
      const pid = String(worker?.process.pid);
      assert.ok(sampleValue(samples, 'qilin_worker_memory_bytes', { pid }) > 5 * MB, `memory of ${pid}`);
      assert.ok(sampleValue(samples, 'qilin_worker_cpu_percent', { pid }) >= 0, `cpu of ${pid}`);
    }
    assert.ok(sampleValue(samples, 'process_cpu_user_seconds_total') > 0);
    assert.ok(sampleValue(samples, 'process_resident_memory_bytes') > 5 * MB);
    assert.ok(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes'));
  });

  test("/info and /metrics give each worker's own count of its HTTP responses", async () => {
    type Counted = { pid: number; responses: number | null; errors: number | null };
    const total = async (): Promise<number> => {
      const { workers } = envelope(await get('/info', BEARER)).result as { workers: Counted[] };
      for (const w of workers) {
        assert.equal(typeof w.responses, 'number', `worker ${w.pid} answered with its counts`);
        assert.equal(w.errors, 0);
      }
      return workers.reduce((sum, w) => sum + (w.responses ?? 0), 0);
    };
    const before = await total();
    for (let i = 0; i < 7; i += 1) await appAnswers(running.appPort);
    assert.equal(await total(), before + 7, 'seven more responses, counted by the workers that wrote them');
    const { samples, types } = parsePrometheus((await get('/metrics', BASIC)).body);
    assert.equal(types.get('qilin_worker_http_responses_total'), 'counter');
    assert.equal(types.get('qilin_worker_http_5xx_responses_total'), 'counter');
    let counted = 0;
    for (const worker of running.cluster.activeWorkers()) {
      const pid = String(worker?.process.pid);
      counted += sampleValue(samples, 'qilin_worker_http_responses_total', { pid });
      assert.equal(sampleValue(samples, 'qilin_worker_http_5xx_responses_total', { pid }), 0);
    }
    assert.equal(counted, before + 7);
  });

  test("/info and /metrics give each worker's open connections, and drop them once closed", async () => {
    const open = async (): Promise<number> => {
      const { workers } = envelope(await get('/info', BEARER)).result as { workers: { pid: number; connections: number | null }[] };
      for (const w of workers) assert.equal(typeof w.connections, 'number', `worker ${w.pid} counted its connections`);
      return workers.reduce((sum, w) => sum + (w.connections ?? 0), 0);
    };
    const before = await open();
    // Three clients that connect and send nothing yet: open connections, as a kept-alive one between requests.
    const clients = Array.from({ length: 3 }, () => net.connect(running.appPort, '127.0.0.1'));
    try {
      await until('the workers to hold the three connections', async () => (await open()) === before + 3);
      const { samples, types } = parsePrometheus((await get('/metrics', BASIC)).body);
      assert.equal(types.get('qilin_worker_connections'), 'gauge');
      const gauges = running.cluster
        .activeWorkers()
        .reduce((sum, worker) => sum + sampleValue(samples, 'qilin_worker_connections', { pid: String(worker?.process.pid) }), 0);
      assert.equal(gauges, before + 3);
    } finally {
      for (const client of clients) client.destroy();
    }
    await until('the connections to be gone from the count once closed', async () => (await open()) === before);
  });

  test('GET, HEAD or PUT on /reload, /quit and /scale get 405 naming POST, and change nothing', async () => {
    for (const urlPath of ['/reload', '/quit', '/scale?workers=5']) {
      for (const method of ['GET', 'PUT']) {
        const reply = await request(running.admin, { method, path: urlPath, headers: BEARER });
        assert.equal(reply.status, 405, `${method} ${urlPath}`);
        assert.equal(reply.headers.allow, 'POST');
        assert.match(envelope(reply).error ?? '', /Use POST/);
      }
      const head = await request(running.admin, { method: 'HEAD', path: urlPath, headers: BEARER });
      assert.equal(head.status, 405);
    }
    const onInfo = await request(running.admin, { method: 'POST', path: '/info', headers: BEARER });
    assert.equal(onInfo.status, 405);
    assert.equal(onInfo.headers.allow, 'GET, HEAD');
    assert.equal(running.cluster.generation, 0);
    assert.equal(running.cluster.activeWorkers().length, 2);
    assert.match(await appAnswers(running.appPort), /generation=0/);
  });

  test('POST /reload answers when the reload has ended, with its outcome', async () => {
    const reply = await post('/reload', BEARER);
    assert.equal(reply.status, 200);
    const { error, result } = envelope(reply);
    assert.equal(error, null);
    assert.equal(result.outcome, 'succeeded');
    assert.equal(result.generation, 1);
    assert.ok(result.durationMs >= 0);
    assert.deepEqual(result.slots, [
      { slot: 0, generation: 1 },
      { slot: 1, generation: 1 },
    ]);
    assert.equal(running.cluster.generation, 1);
    assert.match(await appAnswers(running.appPort), /generation=1/);
    const { samples } = parsePrometheus((await get('/metrics', BEARER)).body);
    assert.equal(sampleValue(samples, 'qilin_reloads_total', { outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(samples, 'qilin_reload_duration_seconds_count', { outcome: 'succeeded' }), 1);
    assert.equal(sampleValue(samples, 'qilin_generation'), 1);
  });

  test('POST /reload?wait=false answers 202 at once; the reload goes on', async () => {
    const ended = new Promise((resolve) => running.cluster.once('reloadEnd', resolve));
    const reply = await post('/reload?wait=false', BEARER);
    assert.equal(reply.status, 202);
    assert.deepEqual(envelope(reply), { error: null, result: { reloading: true } });
    await within(10_000, 'the reload to end', ended);
    assert.equal(running.cluster.generation, 2);
  });

  test('a failed reload answers 500 with the reason and the worker’s stderr; the previous workers keep serving', async () => {
    await writeFile(flag, '');
    try {
      const reply = await post('/reload', BASIC);
      assert.equal(reply.status, 500);
      const { error, result } = envelope(reply);
      assert.match(error ?? '', /Reload to generation 3 failed: slot \d \(pid \d+\) exited with code 1 before it was ready/);
      assert.equal(result.outcome, 'failed');
      assert.equal(result.generation, 3);
      assert.ok(
        result.stderr.some((line: string) => line.includes('refusing to start')),
        JSON.stringify(result.stderr),
      );
      assert.match(await appAnswers(running.appPort), /generation=2/);
      const { samples } = parsePrometheus((await get('/metrics', BEARER)).body);
      assert.equal(sampleValue(samples, 'qilin_reloads_total', { outcome: 'failed' }), 1);
      assert.equal(sampleValue(samples, 'qilin_reload_duration_seconds_count', { outcome: 'failed' }), 1);
    } finally {
      await rm(flag, { force: true });
    }
  });

  test('POST /scale?workers=N changes the number of workers and answers when they are ready', async () => {
    const up = await post('/scale?workers=3', BEARER);
    assert.equal(up.status, 200);
    assert.deepEqual(envelope(up), { error: null, result: { workers: 3 } });
    assert.equal(running.cluster.activeWorkers().filter(Boolean).length, 3);
    assert.equal(envelope(await get('/info', BEARER)).result.workers.length, 3);
    const down = await post('/scale?workers=2', BEARER);
    assert.equal(down.status, 200);
    assert.equal(running.cluster.activeWorkers().length, 2);
    await until('the removed worker to exit', () => running.cluster.workers().length === 2);
  });

  test('a worker that dies counts as a crash and a restart of its slot', async () => {
    const victim = running.cluster.activeWorkers()[1]?.process.pid;
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    await until('slot 1 to be served by a new worker', () => {
      const pid = running.cluster.activeWorkers()[1]?.process.pid;
      return pid !== undefined && pid !== victim;
    });
    const { samples } = parsePrometheus((await get('/metrics', BEARER)).body);
    assert.equal(sampleValue(samples, 'qilin_worker_crashes_total', { slot: '1' }), 1);
    assert.equal(sampleValue(samples, 'qilin_worker_restarts_total', { slot: '1' }), 1);
    assert.equal(sampleValue(samples, 'qilin_worker_crashes_total', { slot: '0' }), 0);
    const slot1 = envelope(await get('/info', BEARER)).result.workers.find((w: { slot: number }) => w.slot === 1);
    assert.equal(slot1.restarts, 1);
  });

  test('bad input gets 4xx and leaves the cluster serving and the admin interface answering', async () => {
    const generation = running.cluster.generation;
    const pids = running.cluster
      .workers()
      .map((w) => w.process.pid)
      .sort();
    const auth = `Authorization: Bearer ${TOKEN}\r\n`;

    // Garbage, broken request lines, absolute-form targets, no Host header, huge headers: answered by Node's parser or by the router.
    assert.match(await raw(running.admin, 'HELLO WORLD\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(running.admin, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00, 0x00])), /^HTTP\/1\.1 400 /);
    assert.match(await raw(running.admin, 'GET /info HTTP/9.9\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 (400|505) /);
    assert.match(await raw(running.admin, `GET http://evil.example/info HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`), /^HTTP\/1\.1 400 /);
    assert.match(await raw(running.admin, `GET /info HTTP/1.1\r\n${auth}\r\n`), /^HTTP\/1\.1 400 /);
    assert.match(await raw(running.admin, `GET /info HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    const manyHeaders = Array.from({ length: 500 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}\r\n`).join('');
    assert.match(await raw(running.admin, `GET /info HTTP/1.1\r\nHost: x\r\n${manyHeaders}\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await raw(running.admin, `GET /info HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`), /^HTTP\/1\.1 400 /);

    // Bodies: on GET, with a JSON content type on POST, oversized, chunked.
    const expectStatus = async (status: number, spec: Parameters<typeof request>[1]): Promise<void> => {
      const reply = await request(running.admin, spec);
      assert.equal(reply.status, status, `${spec.method ?? 'GET'} ${spec.path} ${JSON.stringify(spec.headers)}`);
      assert.equal(typeof envelope(reply).error, 'string');
    };
    await expectStatus(415, { path: '/info', headers: { ...BEARER, 'content-type': 'text/plain' }, body: 'hello' });
    await expectStatus(415, { method: 'POST', path: '/scale?workers=5', headers: { ...BEARER, 'content-type': 'application/json' }, body: '{"workers":5}' });
    await expectStatus(415, {
      method: 'POST',
      path: '/reload',
      headers: { ...BEARER, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'wait=true',
    });
    await expectStatus(413, { method: 'POST', path: '/reload', headers: { ...BEARER, 'content-type': 'application/octet-stream' }, body: 'x'.repeat(100_000) });
    await expectStatus(415, { method: 'POST', path: '/quit', headers: { ...BEARER, 'transfer-encoding': 'chunked' }, body: 'stop' });
    assert.match(
      await raw(running.admin, `POST /reload HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 99999999\r\n\r\nabc`),
      /^HTTP\/1\.1 413 [\s\S]*Connection: close/i,
    );

    // Invalid `workers` values, unknown and repeated parameters, odd paths, web pages.
    for (const value of ['-1', 'abc', '1e3', '', '1.5', '0x10', '%20', '99999999999999999999999', '1025', '3;rm']) {
      await expectStatus(400, { method: 'POST', path: `/scale?workers=${value}`, headers: BEARER });
    }
    await expectStatus(400, { method: 'POST', path: '/scale', headers: BEARER });
    await expectStatus(400, { method: 'POST', path: '/scale?workers=1&workers=2', headers: BEARER });
    await expectStatus(400, { method: 'POST', path: '/reload?wait=maybe', headers: BEARER });
    await expectStatus(400, { path: '/info?debug=1', headers: BEARER });
    await expectStatus(404, { path: '/info/', headers: BEARER });
    await expectStatus(404, { path: '/../etc/passwd', headers: BEARER });
    await expectStatus(405, { method: 'OPTIONS', path: '/info', headers: BEARER });
    await expectStatus(403, { method: 'POST', path: '/quit', headers: { ...BEARER, origin: 'https://evil.example' } });
    await expectStatus(403, { method: 'POST', path: '/reload', headers: { origin: 'null' } });

    // None of it reloaded, scaled, stopped or restarted anything.
    assert.equal(running.cluster.generation, generation);
    assert.deepEqual(
      running.cluster
        .workers()
        .map((w) => w.process.pid)
        .sort(),
      pids,
    );
    assert.match(await appAnswers(running.appPort), new RegExp(`generation=${generation}`));
    assert.equal((await get('/healthz', BEARER)).status, 200);
    assert.equal((await get('/readyz', BEARER)).status, 200);
  });

  test('many concurrent reloads are coalesced and each caller hears a successful outcome', async () => {
    const before = running.cluster.generation;
    const replies = await within(30_000, '20 concurrent reloads to answer', Promise.all(Array.from({ length: 20 }, () => post('/reload', BEARER))));
    for (const reply of replies) {
      assert.equal(reply.status, 200);
      assert.equal(envelope(reply).result.outcome, 'succeeded');
    }
    // Requests arriving while a reload runs share the next one: fewer reloads ran than were asked for, and each answered someone.
    const generations = new Set(replies.map((reply) => envelope(reply).result.generation as number));
    assert.ok(generations.size < replies.length, `20 requests ran ${generations.size} reloads`);
    assert.equal(running.cluster.generation, Math.max(...generations), `generations answered: ${[...generations].join(', ')}`);
    assert.ok(Math.min(...generations) > before);
    assert.match(await appAnswers(running.appPort), new RegExp(`generation=${running.cluster.generation}`));
    assert.equal((await get('/readyz', BEARER)).status, 200);
  });
});

describe('health endpoints for probes', { timeout: 60_000 }, () => {
  const cleanup = suiteCleanup();
  after(() => cleanup.run());

  test('with publicHealth, /healthz and /readyz answer without credentials; /readyz is 503 while a slot has no ready worker', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'qilin-admin-'));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    const flag = path.join(dir, 'fail');
    const { admin, cluster } = await startCluster(cleanup.add, {
      workers: 1,
      env: { FAIL_FLAG_FILE: flag },
      admin: { listen: 0, token: TOKEN, publicHealth: true },
    });
    assert.equal((await request(admin, { path: '/healthz' })).status, 200);
    assert.deepEqual(envelope(await request(admin, { path: '/readyz' })), {
      error: null,
      result: { ready: true, slots: 1, readySlots: 1, required: 1, accepting: 1, stopping: false },
    });
    assert.equal((await request(admin, { path: '/info' })).status, 401, 'only the health endpoints are public');
    assert.equal((await request(admin, { method: 'POST', path: '/reload' })).status, 401);

    await writeFile(flag, '');
    const scaled = await request(admin, { method: 'POST', path: '/scale?workers=2&wait=false', headers: BEARER });
    assert.equal(scaled.status, 202);
    const notReady = await request(admin, { path: '/readyz' });
    assert.equal(notReady.status, 503);
    assert.deepEqual(envelope(notReady), {
      error: 'Not every slot has a ready worker (1 of 2 ready)',
      result: { ready: false, slots: 2, readySlots: 1, required: 2, accepting: 1, stopping: false },
    });
    await rm(flag);
    await until('the new slot to be ready', async () => (await request(admin, { path: '/readyz' })).status === 200);
    assert.equal(cluster.activeWorkers().filter(Boolean).length, 2);
  });

  test('on loopback without credentials everything answers', async () => {
    const { admin } = await startCluster(cleanup.add, { workers: 1, admin: { listen: 0 } });
    assert.equal((await request(admin, { path: '/info' })).status, 200);
    assert.equal((await request(admin, { path: '/readyz' })).status, 200);
  });
});

describe('POST /quit', { timeout: 60_000 }, () => {
  const cleanup = suiteCleanup();
  after(() => cleanup.run());

  test('while the cluster shuts down, /reload and /scale are refused with 503 even with wait=false', async () => {
    const { admin, cluster, appPort } = await startCluster(cleanup.add, { admin: { listen: 0, token: TOKEN }, timeout: '5s' });
    // A request whose headers never end keeps one worker draining for its idle grace (1 s): the shutdown lasts that long.
    const held = net.connect(appPort, '127.0.0.1');
    held.on('error', () => {});
    await new Promise((resolve) => held.once('connect', resolve));
    held.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const stopped = cluster.shutdown();
    const reload = await request(admin, { method: 'POST', path: '/reload?wait=false', headers: BEARER });
    const scale = await request(admin, { method: 'POST', path: '/scale?workers=3&wait=false', headers: BEARER });
    held.destroy();
    assert.equal(reload.status, 503, reload.body);
    assert.match(envelope(reload).error ?? '', /stopping/);
    assert.equal(scale.status, 503, scale.body);
    await within(10_000, 'the shutdown', stopped);
  });

  test('answers 202, then stops the cluster gracefully and closes the admin interface', async () => {
    const { admin, cluster } = await startCluster(cleanup.add, { admin: { listen: 0, token: TOKEN } });
    const pids = cluster.workers().map((w) => w.process.pid as number);
    const reply = await request(admin, { method: 'POST', path: '/quit', headers: BEARER });
    assert.equal(reply.status, 202);
    assert.deepEqual(envelope(reply), { error: null, result: { stopping: true } });
    await until('every worker to exit', () => cluster.workers().length === 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await until('the admin interface to close', () =>
      request(admin, { path: '/healthz', headers: BEARER }).then(
        () => false,
        (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
      ),
    );
  });
});
