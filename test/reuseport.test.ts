// Balance 'reuseport': each slot has a reusePort socket of its own, and the kernel hashes every new connection to one of them; a slot with no worker accepting still has its share answered, by the primary passing it on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { get, getFrom, isAlive, parseIdentity, portOf, testCluster, until, within } from './helpers.js';

/** Which slot answered each of `count` requests, each on a new connection. */
async function slotsAnswering(port: number, count: number): Promise<Map<number, number>> {
  const slots = new Map<number, number>();
  for (let i = 0; i < count; i += 1) {
    const { slot } = parseIdentity((await get(port)).body);
    slots.set(slot, (slots.get(slot) ?? 0) + 1);
  }
  return slots;
}

describe("balance 'reuseport'", () => {
  it("every slot's worker gets new connections; with one slot's worker gone and its respawn 30 s away, the other answers all of them", {
    timeout: 60_000,
  }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, balance: 'reuseport', respawn: 30, backoff: 0 });
    const port = portOf(cluster);
    await within(10_000, 'the first start', cluster.run());
    const listening = await port;
    // The kernel hashes each connection to one of the two sockets: 100 connections miss one with odds of 2^-99.
    const before = await within(20_000, 'requests to both slots', slotsAnswering(listening, 100));
    assert.deepEqual([...before.keys()].sort(), [0, 1], 'both slots answered');
    const pid = cluster.workers()[1]?.process.pid;
    process.kill(pid as number, 'SIGKILL');
    await until('slot 1 to be empty', () => !isAlive(pid) && cluster.activeWorkers()[1] === null, 5_000);
    // Without the primary accepting on slot 1's socket, about half of these would wait for the respawn.
    const after = await within(20_000, 'requests with slot 1 empty', slotsAnswering(listening, 60));
    assert.deepEqual([...after.entries()], [[0, 60]]);
  });

  it('after a scale down to one worker, the removed slot’s share of new connections is answered by the other', { timeout: 60_000 }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 2, balance: 'reuseport' });
    const port = portOf(cluster);
    await within(10_000, 'the first start', cluster.run());
    const listening = await port;
    await within(15_000, 'the scale down', cluster.scale(1));
    const after = await within(20_000, 'requests after the scale down', slotsAnswering(listening, 60));
    assert.deepEqual([...after.entries()], [[0, 60]]);
    // A slot added again takes its socket back.
    await within(15_000, 'the scale up', cluster.scale(2));
    const again = await within(20_000, 'requests after the scale up', slotsAnswering(listening, 100));
    assert.deepEqual([...again.keys()].sort(), [0, 1], 'both slots answered');
  });

  it('after a scale down from 3 to 2, the removed slot’s share goes on being answered while one of the two workers is stopped', {
    timeout: 60_000,
  }, async (t) => {
    const cluster = testCluster(t, 'http-server.cjs', { workers: 3, balance: 'reuseport' });
    const port = portOf(cluster);
    await within(10_000, 'the first start', cluster.run());
    const listening = await port;
    await within(15_000, 'the scale down', cluster.scale(2));
    // Both workers that stay answer before one of them stops.
    const before = await within(20_000, 'requests after the scale down', slotsAnswering(listening, 60));
    assert.deepEqual([...before.keys()].sort(), [0, 1]);
    // Slot 0's worker stops (a long pause, a hung event loop): what the kernel hashes to its own socket waits.
    const pid = cluster.activeWorkers()[0]?.process.pid as number;
    process.kill(pid, 'SIGSTOP');
    t.after(() => isAlive(pid) && process.kill(pid, 'SIGCONT'));
    const replies = await Promise.allSettled(
      Array.from({ length: 90 }, () => getFrom({ host: '127.0.0.1', port: listening, signal: AbortSignal.timeout(2_000) })),
    );
    const answered = replies.flatMap((reply) => (reply.status === 'fulfilled' ? [parseIdentity(reply.value.body).slot] : []));
    assert.ok(answered.every((slot) => slot === 1));
    // Each of the three sockets gets about a third (30 here). The removed slot's is shared by both workers, so
    // slot 1 answers its own third and that one: about 60. Had slot 0's worker alone adopted it, about 30.
    assert.ok(answered.length >= 45, `${answered.length} of 90 answered with slot 0's worker stopped`);
  });
});
