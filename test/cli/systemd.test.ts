// systemd's Type=notify through the built command: READY=1 once started, RELOADING=1 and READY=1 around each reload, STOPPING=1, the watchdog, and workers that do not inherit the socket. `systemd-notify` is a stand-in on PATH that records what it is given.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, freePort, get, startQilin, tempDir, until } from './helpers.js';

/** A `systemd-notify` that appends its arguments, as a JSON array, to `log`, one line per call. */
function fakeSystemdNotify(dir: string): { bin: string; calls: () => string[][] } {
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
  return { bin, calls };
}

describe('systemd notifications', () => {
  test('READY=1 with MAINPID once started, RELOADING=1 (MONOTONIC_USEC) then READY=1 around a reload, WATCHDOG=1, STOPPING=1; the workers do not get the socket', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const notify = fakeSystemdNotify(dir);
    const calls = () => notify.calls().filter((call) => !call.includes('WATCHDOG=1'));
    const qilin = startQilin(t, ['-w', '2', '--log-format', 'json', '--env', `PORT=${port}`, fixture('reports-notify-env.cjs')], {
      env: { NOTIFY_SOCKET: path.join(dir, 'notify.sock'), WATCHDOG_USEC: '200000', PATH: `${notify.bin}:${process.env.PATH}` },
    });
    await qilin.waitFor('started');
    await until('READY=1', () => calls().length >= 1);
    assert.deepEqual(calls()[0], [`MAINPID=${qilin.pid}`, 'READY=1', 'STATUS=serving generation 0 with 2 workers']);
    assert.deepEqual(JSON.parse((await get(port)).body), { NOTIFY_SOCKET: null, WATCHDOG_USEC: null, WATCHDOG_PID: null });

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
