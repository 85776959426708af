// Pooled keep-alive clients of a one-worker cluster, and a reload timed so its old worker retires right after they used their connections.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { TestContext } from 'node:test';
import type { ClusterOptions } from 'qilin';
import { nextEvent, portOf, testCluster } from './helpers.js';
import { pooledGet } from './http.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * A one-worker cluster of keep-alive-app.cjs and `clients` keep-alive agents, each with one connection to
 * its worker. `reload()` starts a reload whose new worker becomes ready (so the old one starts retiring) only
 * once the connections have just been used; it resolves when the old worker says its retirement began.
 */
export async function pooledClients(t: TestContext, clients: number, agentOptions: http.AgentOptions = {}, options: ClusterOptions = {}) {
  const cluster = testCluster(t, 'keep-alive-app.cjs', { workers: 1, readyWhen: 'ready', timeout: 20, ...options });
  const listening = portOf(cluster);
  await cluster.run();
  const port = await listening;
  const agents = Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1, ...agentOptions }));
  t.after(() => {
    for (const agent of agents) agent.destroy();
  });
  const oldPid = cluster.activeWorkers()[0]?.process.pid as number;
  const reload = async (alsoUse: () => Promise<void> = async () => {}): Promise<{ reloaded: Promise<unknown>; lastUsed: number; freshPid: number }> => {
    // The connections are opened while the old worker is the only one, then used once more once the new one listens.
    await Promise.all([Promise.all(agents.map((agent) => pooledGet(port, agent))), alsoUse()]);
    const forked = nextEvent(cluster, 'fork', (_w, _slot, generation) => generation === 1);
    const reloaded = cluster.reload();
    reloaded.catch(() => {});
    const [fresh] = await forked;
    await nextEvent(cluster, 'listening', (worker) => worker === fresh);
    const [replies] = await Promise.all([Promise.all(agents.map((agent) => pooledGet(port, agent))), alsoUse()]);
    for (const reply of replies) assert.equal(reply.pid, oldPid, 'each connection is to the old worker');
    const lastUsed = performance.now();
    const retiring = nextEvent(cluster, 'message', (worker, message) => worker.process.pid === oldPid && (message as { event?: string }).event === 'retiring');
    fresh.send({ cmd: 'test:ready' });
    await retiring;
    return { reloaded, lastUsed, freshPid: fresh.process.pid as number };
  };
  return { cluster, port, agents, oldPid, reload };
}
