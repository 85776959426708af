import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { ReloadError, StartError, recluster } from 'qilin';
import { get, memoryLogger, nextEvent, testCluster, within } from './helpers.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qilin-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port another process (here, the test) listens on, for as long as the test runs. */
async function takenPort(t: TestContext): Promise<number> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, resolve));
  t.after(() => holder.close());
  return (holder.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('start failures, explained at once', () => {
  it('an app that handles its own listen error on a taken port fails its first start, naming EADDRINUSE', { timeout: 30_000 }, async (t) => {
    const portFile = path.join(tempDir(t), 'port');
    const port = await takenPort(t);
    writeFileSync(portFile, String(port));
    // readyTimeout is the default 30 s: the failure must come from the listen error, long before that.
    const cluster = testCluster(t, 'handles-listen-error.cjs', { workers: 2, env: { PORT_FILE: portFile }, respawn: 60 });
    const error = await within(
      5_000,
      'run() to reject',
      cluster.run().then(
        () => null,
        (e: unknown) => e,
      ),
    );
    assert.ok(error instanceof StartError);
    assert.deepEqual(error.start.failure, {
      kind: 'listen',
      code: 'EADDRINUSE',
      address: `port ${port}`,
      error: `bind EADDRINUSE null:${port}`,
    });
    assert.match(error.message, new RegExp(`slot \\d \\(pid \\d+\\) could not listen on port ${port}: EADDRINUSE \\(another process uses this address\\)`));
  });

  it('a reload whose new code cannot listen fails, and the old workers keep serving', { timeout: 30_000 }, async (t) => {
    const portFile = path.join(tempDir(t), 'port');
    const port = await freePort();
    writeFileSync(portFile, String(port));
    const cluster = testCluster(t, 'handles-listen-error.cjs', { workers: 2, env: { PORT_FILE: portFile } });
    await cluster.run();
    const taken = await takenPort(t);
    writeFileSync(portFile, String(taken));
    const error = await within(
      5_000,
      'reload() to reject',
      cluster.reload().then(
        () => null,
        (e: unknown) => e,
      ),
    );
    assert.ok(error instanceof ReloadError);
    assert.equal(error.start.failure.kind, 'listen');
    assert.match(
      error.message,
      new RegExp(`could not listen on port ${taken}: EADDRINUSE \\(another process uses this address\\); the previous workers keep serving \\(generation 0\\)`),
    );
    assert.equal((await get(port)).body, 'generation=0');
    assert.equal(cluster.generation, 0);
  });

  it('an ESM app with a syntax error is reported with its file and line, as plain node shows them', { timeout: 30_000 }, async (t) => {
    const app = path.join(tempDir(t), 'server.mjs');
    writeFileSync(app, "import http from 'node:http';\nconst port = @@;\nhttp.createServer().listen(port);\n");
    const cluster = recluster(app, { workers: 1, log: false, respawn: 60 });
    t.after(() => cluster.terminate());
    const error = await within(
      10_000,
      'run() to reject',
      cluster.run().then(
        () => null,
        (e: unknown) => e,
      ),
    );
    assert.ok(error instanceof StartError);
    assert.deepEqual(error.start.failure, { kind: 'exit', code: 1, signal: null });
    assert.match(error.message, /server\.mjs:2\n\s+const port = @@;\n\s+\^\n[\s\S]*SyntaxError: Invalid or unexpected token/);
  });

  it('a worker slow to become ready is logged after a few seconds, with what it waits for', { timeout: 30_000 }, async (t) => {
    const logger = memoryLogger();
    const cluster = testCluster(t, 'never-ready.cjs', { workers: 1, logger, log: { respawns: false } });
    const slow = nextEvent(cluster, 'slowStart', () => true, 15_000);
    void cluster.run().catch(() => {});
    const [worker, info] = await slow;
    assert.deepEqual(info, { slot: 0, generation: 0, waitedMs: 5_000, readyWhen: 'listening', listened: false, readyTimeout: 30_000 });
    assert.equal(logger.lines.length, 1);
    assert.equal(
      logger.lines[0],
      `qilin: worker ${worker.process.pid} in slot 0 is not ready after 5 seconds: it has not called listen() yet (\`readyWhen\` is 'listening'); ` +
        "an app that does not listen, or listens only after other work, should use `readyWhen` 'ready' and call ready(); it counts as failed at 30 seconds (`readyTimeout`)",
    );
  });
});
