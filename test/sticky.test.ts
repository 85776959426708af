// Sticky sessions through real processes: every connection from one client address reaches the same slot's worker, before and after a reload.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from './cli/helpers.js';
import { getFrom, parseIdentity, testCluster, within } from './helpers.js';

/** Loopback addresses a client can connect from, each a different client to the primary: an odd number, so strict turns would not look sticky. */
const CLIENTS = Array.from({ length: 7 }, (_, i) => `127.0.0.${i + 2}`);

async function slotsByClient(port: number): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>();
  for (let round = 0; round < 3; round += 1) {
    for (const localAddress of CLIENTS) {
      const { slot } = parseIdentity((await getFrom({ host: '127.0.0.1', port, path: '/', agent: false, localAddress })).body);
      const slots = seen.get(localAddress) ?? new Set<string>();
      slots.add(String(slot));
      seen.set(localAddress, slots);
    }
  }
  return seen;
}

describe("balance: 'sticky'", () => {
  it('sends every connection from one client address to the same slot, spreads clients over the slots, and keeps the mapping across a reload', {
    timeout: 30_000,
  }, async (t) => {
    const port = await freePort();
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, balance: 'sticky', env: { PORT: String(port) } });
    await within(10_000, 'the cluster', cluster.run());
    assert.equal(cluster.balance, 'sticky');
    const before = await slotsByClient(port);
    for (const [client, slots] of before) assert.equal(slots.size, 1, `${client} reached slots ${[...slots].join(', ')}`);
    const home = new Map([...before].map(([client, slots]) => [client, [...slots][0]]));
    assert.equal(new Set(home.values()).size, 2, 'both slots have clients');

    await within(15_000, 'a reload', cluster.reload());
    const after = await slotsByClient(port);
    for (const [client, slots] of after) assert.deepEqual([...slots], [home.get(client)], `${client} keeps its slot`);
  });
});
