// /readyz tells the truth: not ready while no worker answers, though every slot still has one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envelope, request, startCluster, until } from './helpers.js';

describe('/readyz', { timeout: 60_000 }, () => {
  test('is not ready while every worker is stopped (SIGSTOP), and ready again once they go on', async (t) => {
    // Heartbeats every second: one more than 1 s late means the worker is not answering.
    const { cluster, admin } = await startCluster((fn) => t.after(fn), { workers: 2, heartbeatTimeout: '3s', admin: { listen: 0 } });
    const pids = cluster.describe().map((w) => w.pid as number);
    t.after(() => {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Gone.
        }
      }
    });
    assert.equal((await request(admin, { path: '/readyz' })).status, 200);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    let answer = await request(admin, { path: '/readyz' });
    await until(
      '/readyz to say not ready',
      async () => {
        answer = await request(admin, { path: '/readyz' });
        return answer.status === 503;
      },
      8_000,
    );
    assert.deepEqual(envelope(answer), {
      error: 'No worker can take a new connection now (no heartbeat on time, or out of file descriptors)',
      result: { ready: false, slots: 2, readySlots: 2, required: 2, accepting: 0, stopping: false },
    });
    for (const pid of pids) process.kill(pid, 'SIGCONT');
    await until('/readyz to say ready again', async () => (await request(admin, { path: '/readyz' })).status === 200, 8_000);
  });
});

describe('shutdownDelay', { timeout: 60_000 }, () => {
  test('after shutdown(), /readyz answers 503 for the delay while requests are still served; then the workers drain', async (t) => {
    const { cluster, admin, appPort } = await startCluster((fn) => t.after(fn), { workers: 2, shutdownDelay: '1.5s', admin: { listen: 0 } });
    const stopping = cluster.shutdown();
    const startedAt = Date.now();
    const ready = await request(admin, { path: '/readyz' });
    assert.equal(ready.status, 503);
    assert.equal(envelope(ready).error, 'The cluster is shutting down');
    const reply = await request(`127.0.0.1:${appPort}`, { path: '/' });
    assert.equal(reply.status, 200, 'the app still answers during the delay');
    assert.deepEqual(
      cluster.describe().map((w) => w.state),
      ['ready', 'ready'],
      'no worker retires before the delay is over',
    );
    await stopping;
    assert.ok(Date.now() - startedAt >= 1_400, 'the workers drained only after the delay');
  });
});
