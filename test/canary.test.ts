import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { type CanaryEnd, type Cluster, ReloadError, type ReloadResult, recluster } from 'qilin';
import { failureOf, fixture, get, isAlive, nextEvent, pidsOf, startOrder, until, versionedCluster, within } from './helpers.js';

/**
 * New connections, one after another, until `done` settles: each one's status, or the error it got. Round-robin
 * relays them in turn, so the canary gets its share.
 */
async function requestUntil(
  port: number,
  done: Promise<unknown>,
  agent: http.Agent | false = false,
  loops = 1,
): Promise<{ statuses: Map<number, number>; errors: string[]; bodies: Set<string> }> {
  let finished = false;
  void done.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const bodies = new Set<string>();
  const loop = async (): Promise<void> => {
    while (!finished) {
      try {
        const reply = await get(port, '/', agent);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        bodies.add(/version=(\S+)/.exec(reply.body)?.[1] ?? '?');
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return { statuses, errors, bodies };
}

/** One HTTP/2 (cleartext) request on a session of its own, so that each one is a new connection: its status. */
function http2Status(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    let status = 0;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('error', reject);
    stream.resume();
    stream.on('end', () => {
      session.close();
      resolve(status);
    });
  });
}

/** After a passed canary and its reload to v2 (generation 1) of 2 workers: every slot runs it, the canary's slot and process are gone, and v2 answers. */
async function newGenerationOnly(cluster: Cluster, port: number, end: CanaryEnd, result: ReloadResult): Promise<void> {
  assert.deepEqual(
    result.slots.map((s) => s.generation),
    [1, 1],
  );
  await until('the canary slot to go', () => cluster.activeWorkers().length === 2);
  await until('the canary to exit', () => end.pid !== undefined && !isAlive(end.pid));
  for (let i = 0; i < 6; i += 1) assert.match((await get(port)).body, /version=v2 /);
}

describe('canary reloads', () => {
  // With 'reuseport' the canary shares slot 0's socket, so no socket of its own is left behind when its slot goes.
  for (const balance of ['round-robin', 'reuseport'] as const) {
    it(`a canary that answers with 5xx rolls the reload back: the previous workers were never replaced, and the error says why (balance '${balance}')`, {
      timeout: 30_000,
    }, async (t) => {
      const { cluster, deploy, port } = await versionedCluster(t, { balance, canary: '1500ms' });
      const before = pidsOf(cluster.activeWorkers());
      await deploy('errors');
      const ended = nextEvent(cluster, 'canaryEnd', () => true, 20_000);
      const reload = failureOf(cluster.reload());
      await nextEvent(cluster, 'canaryStart');
      const traffic = await requestUntil(port, ended);
      const [end] = (await ended) as [CanaryEnd];
      const error = await within(10_000, 'the reload to fail', reload);

      assert.ok(error instanceof ReloadError, `a ReloadError, got ${String(error)}`);
      assert.equal(error.start.failure.kind, 'canary');
      assert.match(error.message, /the canary, failed: it answered \d+ of \d+ with a 5xx status \(100%\)/);
      assert.match(error.message, /the previous workers keep serving \(generation 0\)/);
      assert.equal(end.passed, false);
      assert.ok(end.canary.errors > 0 && end.canary.errors === end.canary.responses, `every canary response a 5xx: ${JSON.stringify(end.canary)}`);
      assert.equal(end.previous.errors, 0);
      assert.ok(end.previous.responses > 0, 'the previous workers served during the window');
      // The users saw the canary's 500s and nothing worse: every request was answered.
      assert.deepEqual(traffic.errors, []);
      assert.ok((traffic.statuses.get(500) ?? 0) > 0 && (traffic.statuses.get(200) ?? 0) > 0, `both answers: ${JSON.stringify([...traffic.statuses])}`);

      assert.equal(cluster.generation, 0);
      assert.deepEqual(pidsOf(cluster.activeWorkers()), before, 'the same workers serve, in the same slots');
      await until('the canary to exit', () => end.pid !== undefined && !isAlive(end.pid));
      for (let i = 0; i < 6; i += 1) assert.match((await get(port)).body, /version=v1 /);
    });
  }

  it("an HTTP/2 app's canary is judged by its HTTP/2 responses: one that answers with 5xx rolls the reload back", { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { balance: 'round-robin', canary: '1500ms', env: { VERSIONED_HTTP2: '1' } });
    const before = pidsOf(cluster.activeWorkers());
    await deploy('errors');
    const ended = nextEvent(cluster, 'canaryEnd', () => true, 20_000);
    const reload = failureOf(cluster.reload());
    await nextEvent(cluster, 'canaryStart');
    let finished = false;
    void ended.finally(() => {
      finished = true;
    });
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    while (!finished) {
      try {
        const status = await http2Status(port);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    const [end] = (await ended) as [CanaryEnd];
    const error = await within(10_000, 'the reload to fail', reload);
    assert.ok(error instanceof ReloadError, `a ReloadError, got ${String(error)}`);
    assert.equal(error.start.failure.kind, 'canary');
    assert.equal(end.passed, false);
    assert.ok(end.canary.errors > 0 && end.canary.errors === end.canary.responses, `every canary response a 5xx: ${JSON.stringify(end.canary)}`);
    assert.ok(end.previous.responses > 0 && end.previous.errors === 0, `the previous workers' HTTP/2 responses were counted: ${JSON.stringify(end.previous)}`);
    assert.deepEqual(errors, []);
    assert.ok((statuses.get(500) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, `both answers: ${JSON.stringify([...statuses])}`);
    assert.equal(cluster.generation, 0);
    assert.deepEqual(pidsOf(cluster.activeWorkers()), before, 'the same workers serve, in the same slots');
  });

  it('keep-alive clients connected before the canary are asked to come back on a new connection, so the canary is judged by them too', {
    timeout: 30_000,
  }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { balance: 'round-robin', canary: '2s' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
    t.after(() => agent.destroy());
    // Six connections to the previous workers, kept open: no new one would come without the canary asking.
    const first = await Promise.all(Array.from({ length: 6 }, () => get(port, '/', agent)));
    assert.ok(first.every((r) => /version=v1 /.test(r.body)));
    await deploy('errors');
    const ended = nextEvent(cluster, 'canaryEnd', () => true, 20_000);
    const reload = failureOf(cluster.reload());
    await nextEvent(cluster, 'canaryStart');
    const traffic = await requestUntil(port, ended, agent, 6);
    const [end] = (await ended) as [CanaryEnd];
    const error = await within(10_000, 'the reload to fail', reload);
    assert.ok(error instanceof ReloadError);
    assert.equal(end.passed, false);
    assert.ok(end.canary.responses > 0, `the canary got keep-alive clients: ${JSON.stringify(end)}`);
    assert.deepEqual(traffic.errors, [], 'no request failed: the previous workers closed each connection after a whole response');
    assert.ok((traffic.statuses.get(500) ?? 0) > 0);
  });

  it('a canary that does as well as the previous workers lets the reload go on, and its slot goes once the reload is done', {
    timeout: 30_000,
  }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { balance: 'round-robin', canary: '1s' });
    await deploy('v2');
    const ended = nextEvent(cluster, 'canaryEnd', () => true, 20_000);
    const reload = cluster.reload();
    await nextEvent(cluster, 'canaryStart');
    const traffic = await requestUntil(port, reload);
    const [end] = (await ended) as [CanaryEnd];
    const result = await within(10_000, 'the reload', reload);

    assert.equal(end.passed, true);
    assert.equal(end.reason, null);
    assert.ok(end.canary.responses > 0, 'the canary served during its window');
    assert.equal(end.canary.errors, 0);
    assert.deepEqual(traffic.errors, []);
    assert.ok(traffic.bodies.has('v2') && traffic.bodies.has('v1'), 'both generations served while the canary did');
    assert.equal(result.generation, 1);
    await newGenerationOnly(cluster, port, end, result);
  });

  it('a canary that exits while it serves fails the reload at once, whatever the traffic', { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { canary: '20s' });
    const before = pidsOf(cluster.activeWorkers());
    await deploy('dies');
    const error = await within(10_000, 'the reload to fail before the 20 s window ends', failureOf(cluster.reload()));
    assert.ok(error instanceof ReloadError);
    assert.equal(error.start.failure.kind, 'canary');
    assert.match(error.message, /the canary, failed: it exited with code 3 while it served as the canary/);
    assert.equal(cluster.generation, 0);
    assert.deepEqual(pidsOf(cluster.activeWorkers()), before);
    for (let i = 0; i < 4; i += 1) assert.match((await get(port)).body, /version=v1 /);
  });

  it('a canary that throws on a request fails the reload as soon as it crashes; that request gets a 500, the others are served', {
    timeout: 30_000,
  }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { balance: 'round-robin', canary: '20s' });
    const before = pidsOf(cluster.activeWorkers());
    await deploy('throws');
    const reload = failureOf(cluster.reload());
    await nextEvent(cluster, 'canaryStart');
    const traffic = await requestUntil(port, reload);
    const error = await within(10_000, 'the reload to fail', reload);
    assert.ok(error instanceof ReloadError);
    assert.match(error.message, /the canary, failed: it had an uncaught exception while it served as the canary/);
    assert.ok((traffic.statuses.get(500) ?? 0) >= 1, `the request that threw was answered: ${JSON.stringify([...traffic.statuses])}`);
    assert.deepEqual(traffic.errors, []);
    assert.deepEqual(pidsOf(cluster.activeWorkers()), before);
  });

  for (const balance of ['reuseport', 'kernel', 'round-robin'] as const) {
    it(`with strategy 'rolling' and balance '${balance}': a canary that passes, then each slot in turn, under load, with no request lost`, {
      timeout: 30_000,
    }, async (t) => {
      const { cluster, deploy, port } = await versionedCluster(t, { balance, strategy: 'rolling', canary: '1s' });
      assert.equal(cluster.balance, balance);
      await deploy('v2');
      const ended = nextEvent(cluster, 'canaryEnd', () => true, 20_000);
      // The canary in a slot of its own (2) first, then slot 0, then slot 1, each ready before the next is forked.
      const steps = startOrder(cluster);
      const reload = cluster.reload();
      const traffic = await requestUntil(port, reload, false, 4);
      const [end] = (await ended) as [CanaryEnd];
      const result = await within(10_000, 'the reload', reload);
      assert.equal(end.passed, true);
      assert.ok(end.canary.responses > 0, 'the canary served during its window');
      assert.deepEqual(steps, ['fork 2', 'ready 2', 'fork 0', 'ready 0', 'fork 1', 'ready 1']);
      assert.deepEqual(traffic.errors, []);
      assert.deepEqual([...traffic.statuses.keys()], [200]);
      await newGenerationOnly(cluster, port, end, result);
    });
  }

  it("with strategy 'rolling', a canary that fails leaves every slot as it was: no slot was replaced", { timeout: 30_000 }, async (t) => {
    const { cluster, deploy, port } = await versionedCluster(t, { strategy: 'rolling', canary: '1s' });
    const before = pidsOf(cluster.activeWorkers());
    await deploy('errors');
    const reload = failureOf(cluster.reload());
    await nextEvent(cluster, 'canaryStart');
    await requestUntil(port, reload, false, 4);
    const error = await within(10_000, 'the reload to fail', reload);
    assert.ok(error instanceof ReloadError);
    assert.equal(error.start.failure.kind, 'canary');
    assert.equal(cluster.generation, 0);
    assert.deepEqual(pidsOf(cluster.activeWorkers()), before);
    for (let i = 0; i < 4; i += 1) assert.match((await get(port)).body, /version=v1 /);
  });

  it('needs the runtime, and takes a share as a number or a percentage', () => {
    const app = fixture('versioned-app.cjs');
    assert.throws(
      () => recluster(app, { runtime: false, canary: '10s', log: false }),
      (error: Error & { option?: string }) => error.option === 'canary' && /runtime/.test(error.message),
    );
    assert.throws(
      () => recluster(app, { canary: '10s', canaryErrorRate: '150%', log: false }),
      (error: Error & { option?: string }) => error.option === 'canaryErrorRate' && /a share from 0 to 1/.test(error.message) && /150%/.test(error.message),
    );
    const options = recluster(app, { canary: '10s', canaryErrorRate: '2.5%', log: false }).options;
    assert.equal(options.canary, 10_000);
    assert.equal(options.canaryErrorRate, 0.025);
    assert.equal(recluster(app, { log: false }).options.canary, null, 'off unless asked for');
  });
});
