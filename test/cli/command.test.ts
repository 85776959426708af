// The built `qilin` command: starting workers, help and version, errors before and at start, config files, the pid file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { appInTempDir, fixture, freePort, get, isAlive, parseIdentity, runQilin, startQilin, tempDir, until, within, writeApp } from './helpers.js';

const TIMEOUT = { timeout: 30_000 };

describe('qilin command', () => {
  test('starts 3 workers that answer with 3 distinct WORKER_IDs, and stops cleanly on SIGTERM', TIMEOUT, async (t) => {
    const port = await freePort();
    // Round-robin hands each new connection to the next worker, so a few requests reach every slot.
    const qilin = startQilin(t, ['-w', '3', '--balance', 'round-robin', '--log-format', 'json', '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    const started = await qilin.waitFor('started');
    assert.equal(started.workers, 3);
    const slots = new Set<string>();
    for (let i = 0; i < 12 && slots.size < 3; i += 1) {
      slots.add(parseIdentity((await get(port)).body).slot as string);
    }
    assert.deepEqual([...slots].sort(), ['0', '1', '2']);
    assert.equal(qilin.count('fork'), 3);
    qilin.signal('SIGTERM');
    const exit = await qilin.waitExit();
    assert.deepEqual(exit, { code: 0, signal: null });
    for (const pid of qilin.workerPids()) assert.equal(isAlive(pid), false, `worker ${pid} is gone`);
  });

  test('--help and --version print and exit 0', TIMEOUT, async (t) => {
    const help = await runQilin(t, ['--help']);
    assert.equal(help.exit.code, 0);
    assert.match(help.stdout, /^Usage: qilin \[options\] <app\.js>/);
    for (const flag of ['--workers', '--ready-when', '--watch-delay', '--pid-file', '--log-format', 'SIGTTIN']) assert.ok(help.stdout.includes(flag), flag);
    const version = await runQilin(t, ['-V']);
    assert.equal(version.exit.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
  });

  test('a bad flag or flag value is a clear error with exit status 2, before anything forks', TIMEOUT, async (t) => {
    const unknown = await runQilin(t, ['--wrokers', '3', fixture('identity-server.cjs')]);
    assert.equal(unknown.exit.code, 2);
    assert.match(unknown.stderr, /Unknown option `--wrokers`; did you mean `--workers`\?/);
    const badWorkers = await runQilin(t, ['--workers', 'many', fixture('identity-server.cjs')]);
    assert.equal(badWorkers.exit.code, 2);
    assert.match(badWorkers.stderr, /Expected `--workers` to be an integer from 1 to 1024 \(leave it out for one per CPU\), got `"many"` \(string\)/);
    const badDuration = await runQilin(t, ['--timeout', '30', '--kill-timeout', 'soon', fixture('identity-server.cjs')]);
    assert.equal(badDuration.exit.code, 2);
    assert.match(badDuration.stderr, /`--kill-timeout`/);
    const noApp = await runQilin(t, ['-w', '2']);
    assert.equal(noApp.exit.code, 2);
    assert.match(noApp.stderr, /No app given/);
    for (const run of [unknown, badWorkers, badDuration, noApp]) assert.equal(run.stdout.includes('worker up'), false);
  });

  test('-w 0 and more workers than 1024 are refused by name with exit status 2, before anything forks', TIMEOUT, async (t) => {
    for (const count of ['0', '1000000']) {
      const run = await runQilin(t, ['-w', count, '--log-format', 'json', fixture('identity-server.cjs')]);
      assert.equal(run.exit.code, 2, `-w ${count}`);
      assert.match(
        run.stderr,
        new RegExp(`Expected \`--workers\` to be an integer from 1 to 1024 \\(leave it out for one per CPU\\), got \`${count}\` \\(number\\)`),
      );
      assert.equal(run.count('fork'), 0);
    }
  });

  test("PM2's forms exit 2 with Qilin's form; an app file named start still runs as ./start", TIMEOUT, async (t) => {
    const { dir, app } = appInTempDir(t);
    const instances = await runQilin(t, ['-i', '2', app], { cwd: dir });
    assert.equal(instances.exit.code, 2);
    assert.equal(instances.stderr, "qilin: `-i` is PM2's; Qilin's is `-w 2` (`--workers 2`)\n");
    const start = await runQilin(t, ['start', 'app.cjs', '-i', '4'], { cwd: dir });
    assert.equal(start.exit.code, 2);
    assert.match(
      start.stderr,
      /^qilin: `start` is PM2's; qilin runs the app in the foreground: `qilin -w 4 app\.cjs` \(an app file named start runs as `qilin \.\/start`\)\n$/,
    );
    const logs = await runQilin(t, ['logs'], { cwd: dir });
    assert.equal(logs.exit.code, 2);
    assert.match(logs.stderr, /`logs` is PM2's; qilin has none/);
    for (const run of [instances, start, logs]) assert.equal(run.stdout, '');

    const port = await freePort();
    writeApp(path.join(dir, 'start'), 'named-start');
    const named = startQilin(t, ['-w', '1', '--log-format', 'json', '--env', `PORT=${port}`, './start'], { cwd: dir });
    await named.waitFor('started');
    assert.equal(parseIdentity((await get(port)).body).version, 'named-start');
    named.signal('SIGTERM');
    assert.equal((await named.waitExit()).code, 0);
  });

  test('a missing app file exits 1 with the reason, before forking', TIMEOUT, async (t) => {
    const missing = path.join(tempDir(t), 'no-such-app.js');
    const run = await runQilin(t, ['-w', '2', missing]);
    assert.equal(run.exit.code, 1);
    assert.match(run.stderr, /the app file .*no-such-app\.js does not exist/);
    assert.equal(run.stdout.includes('worker up'), false);
  });

  test('an app that throws at start exits 1 with its error in stderr, not a respawn loop', TIMEOUT, async (t) => {
    const run = await runQilin(t, ['-w', '2', '--log-format', 'json', fixture('throws-at-start.cjs')]);
    assert.equal(run.exit.code, 1);
    assert.match(run.stderr, /qilin: cannot start .*throws-at-start\.cjs: Workers could not start: slot \d \(pid \d+\) exited with code 1/);
    assert.match(run.stderr, /last stderr lines:[\s\S]*cannot reach the database at db\.internal:5432/);
    for (const pid of run.workerPids()) assert.equal(isAlive(pid), false, `worker ${pid} is gone`);
  });

  test('qilin.config.json in the working directory is read; flags win over it; an unknown key is named', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    writeFileSync(
      path.join(dir, 'qilin.config.json'),
      JSON.stringify({ app: fixture('identity-server.cjs'), workers: 3, env: { PORT: String(port) }, logFormat: 'json', timeout: '5s' }),
    );
    const qilin = startQilin(t, ['-w', '1'], { cwd: dir });
    const started = await qilin.waitFor('started');
    assert.equal(started.workers, 1, 'the flag wins over the file');
    assert.equal(parseIdentity((await get(port)).body).version, 'v1');
    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);

    writeFileSync(path.join(dir, 'qilin.config.json'), JSON.stringify({ app: 'x.js', wrokers: 3 }));
    const bad = await runQilin(t, [], { cwd: dir });
    assert.equal(bad.exit.code, 2);
    assert.match(bad.stderr, /qilin\.config\.json: unknown key `wrokers` \(qilin\.config format\); did you mean `workers`\?/);

    writeFileSync(path.join(dir, 'qilin.config.json'), JSON.stringify({ app: fixture('identity-server.cjs'), strategy: 'sometimes' }));
    const badValue = await runQilin(t, [], { cwd: dir });
    assert.equal(badValue.exit.code, 2);
    assert.match(badValue.stderr, /Expected `strategy` in .*qilin\.config\.json to be one of 'all', 'rolling'/);
  });

  test('a qilin-daemon.json starts its app with its own keys', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    writeFileSync(path.join(dir, 'app.cjs'), readFileSync(fixture('identity-server.cjs'), 'utf8').replace('Number(process.env.PORT)', String(port)));
    writeFileSync(
      path.join(dir, 'qilin-daemon.json'),
      JSON.stringify({ exec: 'app.cjs', args: [], workers: 2, worker_disconnect_timeout: 5000, reload_delay: 200 }),
    );
    const qilin = startQilin(t, ['--log-format', 'json'], { cwd: dir });
    const started = await qilin.waitFor('started');
    assert.equal(started.workers, 2);
    const watching = await qilin.waitFor('watching');
    assert.deepEqual(watching.paths, [path.join(dir, 'app.cjs')], 'exec is watched, as qilin-daemon did');
    assert.equal(watching.delayMs, 200, 'reload_delay is milliseconds');
    assert.equal(parseIdentity((await get(port)).body).version, 'v1');
    qilin.signal('SIGINT');
    assert.equal((await qilin.waitExit()).code, 0);

    writeFileSync(path.join(dir, 'qilin-daemon.json'), JSON.stringify({ exec: 'app.cjs', reload_dealy: 200 }));
    const bad = await runQilin(t, [], { cwd: dir });
    assert.equal(bad.exit.code, 2);
    assert.match(bad.stderr, /qilin-daemon\.json: unknown key `reload_dealy`/);
  });

  test('the pid file is written at start, refuses a second instance, and is removed on exit', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const pidFile = path.join(dir, 'qilin.pid');
    const port = await freePort();
    const first = startQilin(t, ['-w', '1', '--log-format', 'json', '--pid-file', pidFile, '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    // Claimed before the 'start' line, so before anything forks.
    await first.waitFor('start');
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(first.pid));
    await first.waitFor('started');

    const second = await runQilin(t, ['-w', '1', '--pid-file', pidFile, '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    assert.equal(second.exit.code, 1);
    assert.match(second.stderr, new RegExp(`names process ${first.pid}, which is running`));

    first.signal('SIGTERM');
    assert.equal((await first.waitExit()).code, 0);
    assert.equal(existsSync(pidFile), false);

    writeFileSync(pidFile, '999999999\n');
    const stale = startQilin(t, ['-w', '1', '--log-format', 'json', '--pid-file', pidFile, '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    await stale.waitFor('started');
    await until('the stale pid file is replaced', () => readFileSync(pidFile, 'utf8').trim() === String(stale.pid), 5_000);
    stale.signal('SIGTERM');
    assert.equal((await stale.waitExit()).code, 0);
  });

  test('of two instances started at once with the same pid file, one runs and the other refuses', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const pidFile = path.join(dir, 'qilin.pid');
    const port = await freePort();
    const args = ['-w', '1', '--log-format', 'json', '--pid-file', pidFile, '--env', `PORT=${port}`, fixture('identity-server.cjs')];
    const both = [startQilin(t, args), startQilin(t, args)];
    // The one that refuses exits; the other starts its worker and keeps running.
    const first = Promise.race(both.map((qilin) => qilin.exited.then((exit) => ({ qilin, exit }))));
    const { qilin: refused, exit } = await within(15_000, 'one of the two to exit', first);
    assert.equal(exit.code, 1, refused.stderr);
    const runs = both.find((qilin) => qilin !== refused) as (typeof both)[number];
    assert.match(refused.stderr, new RegExp(`names process ${runs.pid}, which is running`));
    await runs.waitFor('started');
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(runs.pid));
    assert.deepEqual(readdirSync(dir), ['qilin.pid'], 'no temporary file is left beside it');
    runs.signal('SIGTERM');
    assert.equal((await runs.waitExit()).code, 0);
    assert.equal(existsSync(pidFile), false);
  });
});
