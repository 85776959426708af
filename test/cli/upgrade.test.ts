// Upgrading the primary through the built command: a new primary on the same sockets, no failed request, the pid file and the admin socket carried over; a new primary that cannot start leaves the old one serving.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pooledGet } from '../http.js';
import { fixture, freePort, get, isAlive, killLoggedAtEnd, parseIdentity, runQilin, startQilin, tempDir, until, within } from './helpers.js';

const TIMEOUT = { timeout: 60_000 };
const NO_SECRETS = { QILIN_ADMIN_PASSWORD: '', QILIN_ADMIN_TOKEN: '' };

/** Requests in a loop, keep-alive and a new connection each in turn, until stopped; every failure is kept. */
function load(port: number) {
  const agent = new http.Agent({ keepAlive: true });
  const failures: unknown[] = [];
  let served = 0;
  let running = true;
  const loop = async (useAgent: boolean) => {
    while (running) {
      try {
        await get(port, '/', useAgent ? agent : false);
        served += 1;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const loops = [loop(true), loop(true), loop(false), loop(false)];
  return {
    failures,
    served: () => served,
    stop: async () => {
      running = false;
      await within(10_000, 'the load to stop', Promise.all(loops));
      agent.destroy();
    },
  };
}

describe('upgrading the primary', () => {
  const cases = [
    { on: 'a Unix socket', balance: 'kernel' },
    { on: 'a TCP port', balance: 'kernel' },
    { on: 'a TCP port', balance: 'reuseport' },
    { on: 'a Unix socket', balance: 'round-robin' },
    { on: 'a TCP port', balance: 'round-robin' },
  ] as const;
  for (const { on, balance } of cases) {
    test(
      `qilin upgrade, balance '${balance}', admin interface on ${on}: a new primary takes the sockets, the pid file and the admin socket; no request fails; the old one retires its workers and exits 0`,
      TIMEOUT,
      async (t) => {
        const dir = tempDir(t);
        const port = await freePort();
        const pidFile = path.join(dir, 'qilin.pid');
        const asked = on === 'a Unix socket' ? `unix:${path.join(dir, 'admin.sock')}` : '0';
        const qilin = startQilin(
          t,
          [
            '-w',
            '2',
            '--balance',
            balance,
            '--log-format',
            'json',
            '--pid-file',
            pidFile,
            '--admin',
            asked,
            '--env',
            `PORT=${port}`,
            fixture('identity-server.cjs'),
          ],
          {
            env: NO_SECRETS,
          },
        );
        killLoggedAtEnd(t, qilin);
        const admin = String((await qilin.waitFor('adminListening')).address);
        await qilin.waitFor('started');
        const oldPid = qilin.pid;
        const oldExit = new Promise<number | null>((resolve) => qilin.child.once('exit', (code) => resolve(code)));
        const traffic = load(port);
        await until('some requests served', () => traffic.served() > 20);
        // A client that keeps its connection idle through the whole upgrade.
        const idle = new http.Agent({ keepAlive: true, maxSockets: 1 });
        t.after(() => idle.destroy());
        const before = await pooledGet(port, idle);

        const client = await runQilin(t, ['upgrade', '--admin', admin], { env: NO_SECRETS }, 45_000);
        assert.equal(client.exit.code, 0, client.stderr);
        const newPid = Number(/new primary \(pid (\d+)\)/.exec(client.stdout)?.[1]);
        assert.ok(newPid > 0 && newPid !== oldPid, client.stdout);
        assert.equal(await within(20_000, 'the old primary to exit', oldExit), 0);
        const oldWorkers = qilin.records
          .filter((r) => r.event === 'fork')
          .map((r) => r.pid as number)
          .slice(0, 2);
        assert.ok(
          oldWorkers.every((pid) => !isAlive(pid)),
          'the old primary’s workers are gone',
        );
        const servedBefore = traffic.served();
        await until('requests served by the new primary’s workers', () => traffic.served() > servedBefore + 20);
        await traffic.stop();
        assert.deepEqual(traffic.failures, [], 'no request failed');
        // Its connection was handed over to the new primary's workers rather than closed.
        const after = await pooledGet(port, idle);
        assert.ok(oldWorkers.includes(before.pid), `first answered by an old worker (${before.pid})`);
        assert.deepEqual(
          { reused: after.reused, oldWorker: oldWorkers.includes(after.pid) },
          { reused: true, oldWorker: false },
          'the idle connection is answered by a new worker, on the same connection',
        );
        // Closed now: the new primary's shutdown below would otherwise wait out its keep-alive timeout.
        idle.destroy();

        assert.equal(readFileSync(pidFile, 'utf8').trim(), String(newPid), 'the pid file names the new primary');
        const newWorkers = qilin.records
          .filter((r) => r.event === 'fork' && r.pid !== undefined)
          .map((r) => r.pid as number)
          .slice(2);
        assert.ok(newWorkers.includes(Number(parseIdentity((await get(port)).body).pid)), 'a new worker answers');
        const status = await runQilin(t, ['status', '--json', '--admin', admin], { env: NO_SECRETS });
        assert.equal(JSON.parse(status.stdout).master.pid, newPid, 'the admin socket answers for the new primary');

        process.kill(newPid, 'SIGTERM');
        await until('the new primary to exit', () => !isAlive(newPid), 15_000);
        assert.equal(existsSync(pidFile), false, 'the new primary removes its pid file');
        if (on === 'a Unix socket') assert.equal(existsSync(admin.slice('unix:'.length)), false, 'and its admin socket');
      },
    );
  }

  test('a new primary that cannot start exits; the old one keeps serving, says why, and keeps its pid file', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const config = path.join(dir, 'qilin.config.json');
    writeFileSync(config, JSON.stringify({ app: fixture('identity-server.cjs'), workers: 2, env: { PORT: String(port) }, pidFile: 'qilin.pid' }));
    const qilin = startQilin(t, ['--log-format', 'json'], { cwd: dir });
    await qilin.waitFor('started');
    writeFileSync(config, '{ "workers": ');
    qilin.signal('SIGUSR1');
    const failed = await qilin.waitFor('upgradeFailed', () => true, 30_000);
    assert.match(String(failed.reason), /exited with code 2 before its workers were ready/);
    assert.equal(qilin.running, true);
    assert.equal(readFileSync(path.join(dir, 'qilin.pid'), 'utf8').trim(), String(qilin.pid));
    assert.equal(parseIdentity((await get(port)).body).generation, '0');
  });

  test('a new primary slow to begin running is reported as such after 5 s, and the old one serves until it does', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    // The node the new primary is started with (QILIN_NODE): one that waits 6 s before it runs, as a loaded machine can.
    const slowNode = path.join(dir, 'slow-node');
    writeFileSync(slowNode, `#!/bin/sh\nsleep 6\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    const qilin = startQilin(t, ['-w', '1', '--log-format', 'json', '--env', `PORT=${port}`, fixture('identity-server.cjs')], {
      env: { QILIN_NODE: slowNode },
    });
    killLoggedAtEnd(t, qilin);
    await qilin.waitFor('started');
    qilin.signal('SIGUSR1');
    const slow = await qilin.waitFor('upgradeSlow', () => true, 15_000);
    assert.equal(slow.running, false);
    assert.match(String(slow.msg), /the new primary \(pid \d+\) has not begun to run after 5 seconds .*this primary serves meanwhile/);
    assert.equal(parseIdentity((await get(port)).body).generation, '0', 'the old workers serve meanwhile');
    const upgraded = await qilin.waitFor('upgraded', () => true, 30_000);
    assert.ok(Number(upgraded.pid) > 0);
    process.kill(Number(upgraded.pid), 'SIGTERM');
    await until('the new primary to exit', () => !isAlive(Number(upgraded.pid)), 15_000);
  });

  test('with runtime: false the upgrade is refused, saying why', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    writeFileSync(
      path.join(dir, 'qilin.config.json'),
      JSON.stringify({ app: fixture('identity-server.cjs'), workers: 1, runtime: false, env: { PORT: String(port) } }),
    );
    const qilin = startQilin(t, ['--log-format', 'json'], { cwd: dir });
    await qilin.waitFor('started');
    qilin.signal('SIGUSR1');
    const refused = await qilin.waitFor('upgradeFailed');
    assert.match(String(refused.reason), /needs the worker runtime/);
    assert.equal(parseIdentity((await get(port)).body).slot, '0');
  });
});
