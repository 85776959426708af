// Rebalancing kept-alive connections with the kernel balancing, through real processes: a pool opened while one worker ran spreads over the workers added later, losing nothing; with `rebalance: false` it stays where it landed.
import assert from 'node:assert/strict';
import http from 'node:http';
import { type TestContext, describe, it } from 'node:test';
import type { ClusterOptions, RebalanceInfo } from 'qilin';
import { freePort } from './cli/helpers.js';
import { pidsOf, testCluster, until, within } from './helpers.js';
import { pooledGet } from './http.js';
import { sleep } from './pooled.js';

const POOL = 8;

/**
 * A one-worker cluster of http-server.cjs, and a keep-alive pool of POOL connections, all to that worker,
 * each carrying one request after another; then the cluster grows to 4 workers. `lastAnswer` says when each
 * pid last answered; `failures` lists requests that failed.
 */
async function poolThenScale(t: TestContext, options: ClusterOptions) {
  const port = await freePort();
  const cluster = testCluster(t, 'http-server.cjs', { workers: 1, balance: 'kernel', env: { PORT: String(port) }, ...options });
  await within(10_000, 'the first worker', cluster.run());
  const rounds: RebalanceInfo[] = [];
  cluster.on('rebalance', (info) => rounds.push(info));
  const agent = new http.Agent({ keepAlive: true, maxSockets: POOL });
  const lastAnswer = new Map<number, number>();
  const failures: string[] = [];
  let running = true;
  const loops = Array.from({ length: POOL }, async () => {
    while (running) {
      try {
        lastAnswer.set((await pooledGet(port, agent)).pid, performance.now());
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  });
  t.after(async () => {
    running = false;
    await Promise.all(loops);
    agent.destroy();
  });
  const open = (): number => Object.values(agent.sockets).reduce((sum, sockets) => sum + (sockets?.length ?? 0), 0);
  await until('the pool to be open and busy', () => open() === POOL && lastAnswer.size === 1);
  const [first] = pidsOf(cluster.activeWorkers());
  await within(15_000, 'three more workers', cluster.scale(4));
  const scaledAt = performance.now();
  const answeredSince = (pid: number): boolean => (lastAnswer.get(pid) ?? 0) > scaledAt;
  return { cluster, rounds, failures, first, scaledAt, answeredSince };
}

describe("rebalancing kept-alive connections (balance: 'kernel')", () => {
  it('spreads a pool that opened on one worker over the workers started after it, losing no request', { timeout: 45_000 }, async (t) => {
    const { cluster, rounds, failures, answeredSince } = await poolThenScale(t, {});
    const workers = pidsOf(cluster.activeWorkers());
    assert.equal(workers.length, 4);
    await until('every worker to answer the pool', () => workers.every(answeredSince), 20_000);
    assert.ok(rounds.length > 0, 'a rebalance event was emitted');
    const firstRound = rounds[0]?.workers ?? [];
    assert.deepEqual(
      firstRound.map((w) => w.slot),
      [0, 1, 2, 3],
    );
    assert.ok((firstRound[0]?.asked ?? 0) > 0, 'the first worker, holding the pool, asked some clients to reconnect');
    assert.deepEqual(failures, []);
  });

  it('leaves the pool where it landed with rebalance: false', { timeout: 45_000 }, async (t) => {
    const { cluster, rounds, failures, first, answeredSince } = await poolThenScale(t, { rebalance: false });
    // Three rebalancing intervals: with rebalancing on, the first round comes within one.
    await sleep(3_000);
    assert.ok(first !== undefined && answeredSince(first), 'the first worker still answers');
    for (const pid of pidsOf(cluster.activeWorkers())) if (pid !== first) assert.equal(answeredSince(pid), false, `worker ${pid} got none of the pool`);
    assert.deepEqual(rounds, []);
    assert.deepEqual(failures, []);
  });
});
