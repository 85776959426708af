// The listening sockets the primary owns: one per address, kept while the cluster runs (so a moment without any worker refuses no connection), closed when it stops; run in each balancing mode by the sockets test files.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { Balance } from 'qilin';
import { get, isAlive, nextEvent, parseIdentity, portOf, testCluster, until, within } from './helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something can bind and listen on `port` now (the cluster has let its socket go). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * The scenarios for one balancing mode: with round-robin, node:cluster's primary accepts on a copy of the
 * socket lent to it. node:cluster's scheduling policy is one per process, so each mode has its own test file.
 */
export function socketSuites(balance: Balance): void {
  describe(`the primary's own listening sockets (balance '${balance}')`, () => {
    it('a connection made while no worker is up waits for the next worker instead of being refused; the port is free once the cluster stops', {
      timeout: 30_000,
    }, async (t) => {
      const cluster = testCluster(t, 'http-server.cjs', { workers: 1, respawn: 0.3, balance });
      const port = portOf(cluster);
      await within(10_000, 'the first start', cluster.run());
      const listening = await port;
      const [first] = cluster.workers();
      const pid = first?.process.pid as number;
      process.kill(pid, 'SIGKILL');
      await until('the only worker to be gone', () => !isAlive(pid) && cluster.activeWorkers()[0] === null, 5_000);
      // Nothing listens in a worker now; the respawn comes 300 ms later.
      const answer = parseIdentity((await within(5_000, 'the request made with no worker up', get(listening))).body);
      assert.notEqual(answer.pid, pid);
      await within(15_000, 'the shutdown', cluster.shutdown());
      assert.ok(await portFree(listening), 'the socket is closed with the cluster');
    });

    it("the 'listening' event gives the address, port and address type the socket is bound to", { timeout: 30_000 }, async (t) => {
      const cluster = testCluster(t, 'http-server.cjs', { workers: 1, balance });
      const listening = nextEvent(cluster, 'listening');
      await within(10_000, 'the first start', cluster.run());
      const [, address] = await listening;
      // Every address, as node:cluster binds it: `::`, or `0.0.0.0` on a host without IPv6.
      const every = address.addressType === 6 ? { address: '::', addressType: 6 } : { address: '0.0.0.0', addressType: 4 };
      assert.deepEqual({ address: address.address, addressType: address.addressType }, every);
      assert.equal(parseIdentity((await get(address.port)).body).slot, 0);
    });

    it('a second cluster in the same primary that listens on the same port shares the socket, as with node:cluster', { timeout: 30_000 }, async (t) => {
      const port = await freePort();
      const first = testCluster(t, 'http-server.cjs', { workers: 1, balance, env: { PORT: String(port) } });
      await within(10_000, 'the first cluster', first.run());
      const second = testCluster(t, 'http-server.cjs', { workers: 1, balance, env: { PORT: String(port) } });
      await within(10_000, 'the second cluster', second.run());
      await within(15_000, 'the first to stop', first.shutdown());
      // The second still uses the socket: the first stopping did not close it.
      assert.equal(parseIdentity((await get(port)).body).pid, second.workers()[0]?.process.pid);
    });

    it('two servers on port 0 in each worker get two ports, each shared by every worker, as node:cluster numbers them', { timeout: 30_000 }, async (t) => {
      const cluster = testCluster(t, 'two-servers.cjs', { workers: 2, balance });
      const reports: number[][] = [];
      cluster.on('message', (_worker, message) => {
        if ((message as { event?: string }).event === 'ports') reports.push((message as { ports: number[] }).ports);
      });
      await within(10_000, 'the first start', cluster.run());
      await until('both workers report their ports', () => reports.length === 2, 5_000);
      const [a, b] = reports;
      assert.notEqual(a?.[0], a?.[1], "a worker's two servers are on two ports");
      assert.deepEqual(a, b, 'the other worker has the same two');
    });
  });
}
