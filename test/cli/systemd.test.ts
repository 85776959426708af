// systemd's Type=notify through the built command: READY=1 once started, RELOADING=1 and READY=1 around each reload, STOPPING=1, the watchdog, and workers that do not inherit the socket. `systemd-notify` is a stand-in on PATH that records what it is given.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BIN, fixture, freePort, get, isAlive, killLoggedAtEnd, startQilin, tempDir, until, watchQilin } from './helpers.js';

/** A `systemd-notify` that appends its arguments, as a JSON array, to `log`, one line per call. */
function fakeSystemdNotify(dir: string): { bin: string; calls: () => string[][]; notifications: () => string[][] } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'notify.log');
  writeFileSync(path.join(dir, 'record.cjs'), `require('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`);
  mkdirSync(bin);
  const script = path.join(bin, 'systemd-notify');
  writeFileSync(script, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(dir, 'record.cjs'))} "$@"\n`);
  chmodSync(script, 0o755);
  const calls = (): string[][] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as string[])
      : [];
  /** The calls but the watchdog's keep-alives. */
  const notifications = (): string[][] => calls().filter((call) => !call.includes('WATCHDOG=1'));
  return { bin, calls, notifications };
}

describe('systemd notifications', () => {
  test('READY=1 with MAINPID once started, RELOADING=1 (MONOTONIC_USEC) then READY=1 around a reload, WATCHDOG=1, STOPPING=1; the workers do not get the socket', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const notify = fakeSystemdNotify(dir);
    const calls = notify.notifications;
    const qilin = startQilin(t, ['-w', '2', '--log-format', 'json', '--env', `PORT=${port}`, fixture('reports-systemd-env.cjs')], {
      env: { NOTIFY_SOCKET: path.join(dir, 'notify.sock'), WATCHDOG_USEC: '200000', PATH: `${notify.bin}:${process.env.PATH}` },
    });
    await qilin.waitFor('started');
    await until('READY=1', () => calls().length >= 1);
    assert.deepEqual(calls()[0], [`MAINPID=${qilin.pid}`, 'READY=1', 'STATUS=serving generation 0 with 2 workers']);
    assert.deepEqual(JSON.parse((await get(port)).body).env, {
      NOTIFY_SOCKET: null,
      WATCHDOG_USEC: null,
      WATCHDOG_PID: null,
      LISTEN_FDS: null,
      LISTEN_PID: null,
      LISTEN_FDNAMES: null,
    });

    const before = process.hrtime.bigint() / 1_000n;
    qilin.signal('SIGHUP');
    await qilin.waitFor('reloadEnd');
    const after = process.hrtime.bigint() / 1_000n;
    await until('the reload notifications', () => calls().length >= 3);
    const [reloading, reloaded] = calls().slice(1);
    assert.equal(reloading?.[0], 'RELOADING=1');
    const usec = BigInt(String(reloading?.[1]).replace('MONOTONIC_USEC=', ''));
    assert.ok(usec >= before && usec <= after, `MONOTONIC_USEC ${usec} is CLOCK_MONOTONIC at the reload, between ${before} and ${after}`);
    assert.deepEqual(reloaded, ['READY=1', 'STATUS=serving generation 1 with 2 workers']);

    // Half of WATCHDOG_USEC: every 100 ms.
    await until('WATCHDOG=1 keeps coming', () => notify.calls().filter((call) => call.includes('WATCHDOG=1')).length >= 3);

    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);
    assert.deepEqual(calls().at(-1), ['STOPPING=1', 'STATUS=stopping: the workers finish their requests']);
    assert.equal(calls().length, 4, 'nothing more than ready, reloading, reloaded and stopping');
  });
});

describe('systemd socket activation', () => {
  test('the app listens on the socket systemd passed (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES): it serves there, the workers do not inherit the variables, and the socket outlives every worker', async (t) => {
    // The socket a .socket unit would pass: bound and listening, here on every address and a port the system picks.
    const given = (
      net as unknown as {
        _createServerHandle: (a: null, p: number, t: number) => { fd: number; listen(b: number): number; getsockname(o: object): number; close(): void };
      }
    )._createServerHandle(null, 0, 4);
    assert.equal(given.listen(511), 0);
    const bound: { port?: number } = {};
    given.getsockname(bound);
    const port = bound.port as number;
    // systemd sets LISTEN_PID to the pid it execs the service as: a shell's $$ stays the pid through its exec.
    const args = ['-w', '2', '--log-format', 'json', '--env', `PORT=${port}`, fixture('reports-systemd-env.cjs')];
    const command = `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web exec ${[process.execPath, BIN, ...args].map((a) => JSON.stringify(a)).join(' ')}`;
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe', given.fd], env: { ...process.env, NODE_ENV: 'test' } });
    given.close();
    const qilin = watchQilin(t, child);
    const passed = await qilin.waitFor('socketsPassed');
    assert.deepEqual(passed.sockets, [{ fd: 3, name: 'web', address: `[::]:${port}` }]);
    await qilin.waitFor('started');
    const answer = JSON.parse((await get(port)).body) as { env: Record<string, string | null> };
    assert.deepEqual([answer.env.LISTEN_FDS, answer.env.LISTEN_PID, answer.env.LISTEN_FDNAMES], [null, null, null]);

    // No worker left: a connection waits in the socket's queue for the next worker instead of being refused.
    for (const pid of qilin.workerPids()) process.kill(pid, 'SIGKILL');
    await until('both workers gone', () => qilin.count('exit') >= 2);
    const late = JSON.parse((await get(port)).body) as { slot: string };
    assert.match(late.slot, /^[01]$/);
    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);
  });
});

describe('systemd and an upgrade of the primary', () => {
  test('the new primary tells systemd MAINPID= with READY=1; the old one, which only hands over, never says STOPPING=1', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const notify = fakeSystemdNotify(dir);
    const calls = notify.notifications;
    const qilin = startQilin(t, ['-w', '1', '--log-format', 'json', '--env', `PORT=${port}`, fixture('reports-systemd-env.cjs')], {
      env: { NOTIFY_SOCKET: path.join(dir, 'notify.sock'), PATH: `${notify.bin}:${process.env.PATH}` },
    });
    killLoggedAtEnd(t, qilin);
    await qilin.waitFor('started');
    const oldExit = new Promise<number | null>((resolve) => qilin.child.once('exit', (code) => resolve(code)));
    qilin.signal('SIGUSR1');
    const upgraded = await qilin.waitFor('upgraded', () => true, 30_000);
    assert.equal(await oldExit, 0);
    const newPid = upgraded.pid as number;
    await until('the new primary’s READY=1', () => calls().some((call) => call.includes(`MAINPID=${newPid}`)));
    assert.deepEqual(
      calls().map((call) => call[0]),
      [`MAINPID=${qilin.pid}`, `MAINPID=${newPid}`],
      'two READY=1 with MAINPID, and no STOPPING=1',
    );
    process.kill(newPid, 'SIGTERM');
    await until('STOPPING=1 from the new primary when it stops', () => calls().at(-1)?.[0] === 'STOPPING=1', 15_000);
  });
});

/** Whether `program` can be run from PATH. */
function installed(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}

describe('systemd, with its own programs', () => {
  const noNotify = !installed('systemd-notify') || !installed('python3');
  test('systemd-notify to a datagram socket: READY=1, RELOADING=1 and READY=1 around a reload, STOPPING=1, in order', {
    skip: noNotify && 'needs systemd-notify and python3 (for the stand-in notification socket)',
    timeout: 30_000,
  }, async (t) => {
    const dir = tempDir(t);
    const socket = path.join(dir, 'notify.sock');
    const receiver = spawn('python3', [fixture('notify-receiver.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => receiver.kill('SIGKILL'));
    const received: string[] = [];
    let partial = '';
    receiver.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) received.push(JSON.parse(line) as string);
    });
    await until('the notification socket', () => received.includes('listening'));
    const port = await freePort();
    const qilin = startQilin(t, ['-w', '2', '--log-format', 'json', '--env', `PORT=${port}`, fixture('identity-server.cjs')], {
      env: { NOTIFY_SOCKET: socket },
    });
    await qilin.waitFor('started');
    qilin.signal('SIGHUP');
    await qilin.waitFor('reloadEnd');
    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);
    const states = () =>
      received
        .filter((m) => m !== 'listening' && m !== 'BARRIER=1')
        .map((m) =>
          m
            .split('\n')
            .filter((line) => !line.startsWith('STATUS=') && !line.startsWith('MONOTONIC_USEC='))
            .join(' '),
        );
    await until('every notification', () => states().length >= 4);
    assert.deepEqual(states(), [`MAINPID=${qilin.pid} READY=1`, 'RELOADING=1', 'READY=1', 'STOPPING=1']);
  });

  test('systemd-socket-activate starts qilin on its socket; the app serves there, and an upgrade and a reload under load refuse no connection', {
    skip: !installed('systemd-socket-activate') && 'needs systemd-socket-activate (Debian: the systemd package)',
    timeout: 60_000,
  }, async (t) => {
    const port = await freePort();
    const args = ['-w', '2', '--log-format', 'json', '--env', `PORT=${port}`, fixture('identity-server.cjs')];
    // It listens, and execs qilin in its place with the socket at descriptor 3 on the first connection.
    const child = spawn('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, '--fdname=web', process.execPath, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'test' },
    });
    const qilin = watchQilin(t, child);
    killLoggedAtEnd(t, qilin);
    await until('systemd-socket-activate to listen', () => qilin.stderr.includes(`Listening on 127.0.0.1:${port}`));
    const agent = new http.Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    const failures: unknown[] = [];
    let served = 0;
    let running = true;
    const loop = async (useAgent: boolean) => {
      while (running) {
        await get(port, '/', useAgent ? agent : false).then(
          () => {
            served += 1;
          },
          (error: unknown) => failures.push(error),
        );
      }
    };
    const loops = [loop(true), loop(false), loop(false)];
    const passed = await qilin.waitFor('socketsPassed');
    assert.deepEqual(passed.sockets, [{ fd: 3, name: 'web', address: `127.0.0.1:${port}` }]);
    await qilin.waitFor('started');
    qilin.signal('SIGHUP');
    await qilin.waitFor('reloadEnd');
    const oldExit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    qilin.signal('SIGUSR1');
    const upgraded = await qilin.waitFor('upgraded', () => true, 30_000);
    assert.equal(await oldExit, 0);
    const servedBefore = served;
    await until('requests served by the new primary', () => served > servedBefore + 20);
    running = false;
    await Promise.all(loops);
    assert.deepEqual(failures, [], 'no request failed');
    process.kill(upgraded.pid as number, 'SIGTERM');
    await until('the new primary to exit', () => !isAlive(upgraded.pid as number), 15_000);
  });
});
