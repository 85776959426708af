// The admin interface through the built `qilin` command: --admin on the server, `qilin status|reload|stop|scale` as the client, config files.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { InfoAnswer } from '../../src/admin/answers.js';
import { type QilinProcess, appInTempDir, fixture, freePort, get, isAlive, parseIdentity, runQilin, startQilin, tempDir, writeApp } from './helpers.js';

const TIMEOUT = { timeout: 60_000 };

/** No admin secret from the environment the tests run in, unless a test gives one. */
const NO_SECRETS = { QILIN_ADMIN_PASSWORD: '', QILIN_ADMIN_TOKEN: '' };

/** Starts qilin with `args` and returns it with the admin address from its `adminListening` line. */
async function startWithAdmin(
  t: TestContext,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ qilin: QilinProcess; address: string }> {
  const qilin = startQilin(t, ['--log-format', 'json', ...args], { ...options, env: { ...NO_SECRETS, ...options.env } });
  const listening = await qilin.waitFor('adminListening');
  assert.equal(typeof listening.address, 'string');
  await qilin.waitFor('started');
  return { qilin, address: listening.address as string };
}

/** Runs `qilin <command...> --admin <address>` to completion, with `env` for the credentials. */
function client(t: TestContext, address: string, command: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return runQilin(t, [...command, '--admin', address], { env: { ...NO_SECRETS, ...env } }, 30_000);
}

async function statusOf(t: TestContext, address: string, env: NodeJS.ProcessEnv, flags: readonly string[] = []): Promise<InfoAnswer> {
  const run = await client(t, address, ['status', '--json', ...flags], env);
  assert.equal(run.exit.code, 0, `qilin status --json exits 0\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return JSON.parse(run.stdout) as InfoAnswer;
}

const activePids = (info: InfoAnswer): number[] =>
  info.workers
    .filter((w) => w.active)
    .map((w) => w.pid as number)
    .sort((a, b) => a - b);

describe('qilin --admin and the qilin status|reload|stop|scale commands', () => {
  test('the admin secrets from the environment stay in the primary: the workers do not get them', TIMEOUT, async (t) => {
    const port = await freePort();
    const env = { QILIN_ADMIN_PASSWORD: 'correct horse battery staple', QILIN_ADMIN_TOKEN: 'tok-0123456789abcdef' };
    const { qilin, address } = await startWithAdmin(t, ['-w', '1', '--admin', '0', '--env', `PORT=${port}`, fixture('reports-admin-env.cjs')], { env });
    assert.deepEqual(JSON.parse((await get(port)).body), { password: null, token: null });
    // The primary still has them: the token from the environment opens the admin interface.
    const info = await statusOf(t, address, { QILIN_ADMIN_TOKEN: env.QILIN_ADMIN_TOKEN });
    assert.equal(info.cluster.slots, 1);
    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);
  });

  test('status, reload to new code, scale and stop, with the password from QILIN_ADMIN_PASSWORD; wrong credentials are refused', TIMEOUT, async (t) => {
    const { dir, app } = appInTempDir(t);
    const port = await freePort();
    const secret = { QILIN_ADMIN_PASSWORD: 'correct horse battery staple' };
    const pidFile = path.join(dir, 'qilin.pid');
    const { qilin, address } = await startWithAdmin(
      t,
      ['-w', '2', '--timeout', '5s', '--pid-file', pidFile, '--admin', '0', '--admin-user', 'ops', '--env', `PORT=${port}`, app],
      { env: secret },
    );
    assert.match(address, /^127\.0\.0\.1:\d+$/, 'a bare port listens on loopback');
    assert.notEqual(address, '127.0.0.1:0', 'the line gives the port chosen');
    const ops = { ...secret };
    const user = ['--admin-user', 'ops'];

    const info = await statusOf(t, address, ops, user);
    assert.equal(info.cluster.slots, 2);
    assert.equal(info.cluster.readySlots, 2);
    assert.deepEqual(
      activePids(info),
      [...qilin.workerPids()].sort((a, b) => a - b),
      'the workers qilin forked',
    );
    assert.equal(info.master.pid, qilin.pid);
    const table = await client(t, address, ['status', '--admin-user', 'ops'], ops);
    assert.equal(table.exit.code, 0);
    assert.match(table.stdout, /SLOT\s+PID\s+STATE/);

    const wrong = await client(t, address, ['status', '--admin-user', 'ops'], { QILIN_ADMIN_PASSWORD: 'wrong' });
    assert.equal(wrong.exit.code, 1);
    assert.match(wrong.stderr, /\/info answered 401: Unauthorized/);
    assert.match(wrong.stderr, /Give credentials with --admin-user and --admin-password/);
    const none = await client(t, address, ['stop']);
    assert.equal(none.exit.code, 1);
    assert.match(none.stderr, /answered 401/);
    assert.equal(qilin.running, true, 'a refused stop stops nothing');

    writeApp(app, 'v2');
    const reload = await client(t, address, ['reload', '--admin-user', 'ops'], ops);
    assert.equal(reload.exit.code, 0, reload.stderr);
    assert.match(reload.stdout, /Reloaded: generation 1 serves every slot/);
    assert.equal(parseIdentity((await get(port)).body).version, 'v2');
    await qilin.waitFor('admin', (r) => r.action === 'reload');
    await qilin.waitFor('reloadEnd', (r) => r.generation === 1);

    const scale = await client(t, address, ['scale', '3', '--admin-user', 'ops'], ops);
    assert.equal(scale.exit.code, 0, scale.stderr);
    assert.match(scale.stdout, /Scaled to 3 workers/);
    const scaled = await statusOf(t, address, ops, user);
    assert.equal(scaled.cluster.slots, 3);
    assert.equal(activePids(scaled).length, 3);
    await qilin.waitFor('scaled', (r) => r.workers === 3);
    // SIGTTIN counts from the number the admin interface set, not from the command line's.
    qilin.signal('SIGTTIN');
    await qilin.waitFor('scaled', (r) => r.workers === 4);

    const stop = await client(t, address, ['stop', '--admin-user', 'ops'], ops);
    assert.equal(stop.exit.code, 0, stop.stderr);
    assert.deepEqual(await qilin.waitExit(20_000), { code: 0, signal: null });
    assert.equal(
      qilin.count('admin', (r) => r.action === 'stop'),
      1,
    );
    assert.deepEqual(qilin.records.at(-1)?.event, 'stopped', 'the command went through its own shutdown');
    assert.equal(existsSync(pidFile), false, 'and removed its pid file');
    for (const pid of qilin.workerPids()) assert.equal(isAlive(pid), false, `worker ${pid} is gone`);
  });

  test('a reload of a broken app makes qilin reload exit 1 with the reason, and the old workers keep serving', TIMEOUT, async (t) => {
    const { app } = appInTempDir(t);
    const port = await freePort();
    const token = { QILIN_ADMIN_TOKEN: 'e3b0c44298fc1c149afbf4c8996fb924' };
    const { qilin, address } = await startWithAdmin(t, ['-w', '2', '--timeout', '5s', '--admin', '127.0.0.1:0', '--env', `PORT=${port}`, app], { env: token });
    const before = activePids(await statusOf(t, address, token));

    writeFileSync(app, "throw new Error('syntax of the new release is broken');\n");
    const reload = await client(t, address, ['reload'], token);
    assert.equal(reload.exit.code, 1);
    assert.match(reload.stderr, /Reload to generation 1 failed: .*; the previous workers keep serving\./);
    assert.match(reload.stderr, /syntax of the new release is broken/);
    assert.equal(parseIdentity((await get(port)).body).version, 'v1');
    const after = await statusOf(t, address, token);
    assert.deepEqual(activePids(after), before, 'the same workers serve');
    assert.equal(after.cluster.generation, 0);
    assert.equal(qilin.running, true);
  });

  test('--admin 0.0.0.0:0 without credentials, a bad address, an address in use: clear errors before anything forks', TIMEOUT, async (t) => {
    const app = fixture('identity-server.cjs');
    const open = await runQilin(t, ['-w', '1', '--admin', '0.0.0.0:0', '--env', 'PORT=0', app], { env: NO_SECRETS });
    assert.equal(open.exit.code, 2);
    assert.match(
      open.stderr,
      /Expected `--admin` to be a loopback address .* when no credentials are set; set `--admin-user` and `--admin-password` \(or QILIN_ADMIN_PASSWORD\), or `--admin-token` \(or QILIN_ADMIN_TOKEN\), to listen on 0\.0\.0\.0:0/,
    );
    const bad = await runQilin(t, ['-w', '1', '--admin', 'localhost:99999', '--env', 'PORT=0', app], { env: NO_SECRETS });
    assert.equal(bad.exit.code, 2);
    assert.match(bad.stderr, /Expected `--admin` to be a port \(0-65535\), 'host:port', '\[ipv6\]:port' or 'unix:\/path\/to\/socket', got `"localhost:99999"`/);

    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const { port } = taken.address() as net.AddressInfo;
    const inUse = await runQilin(t, ['-w', '1', '--log-format', 'json', '--admin', String(port), '--env', 'PORT=0', app], { env: NO_SECRETS });
    assert.equal(inUse.exit.code, 1);
    assert.match(inUse.stderr, new RegExp(`qilin: cannot start: The admin interface could not listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    assert.ok(
      inUse.records.some((r) => r.event === 'error' && /could not listen/.test(r.msg)),
      'a JSON error line too',
    );
    for (const run of [open, bad, inUse]) {
      assert.deepEqual(run.workerPids(), [], 'no worker was forked');
      assert.equal(run.stdout.includes('worker up'), false, 'no worker was forked');
    }
  });

  test('a Unix socket address: the socket is mode 0600, the client reaches it, and it is gone after qilin stop', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const socket = path.join(dir, 'admin.sock');
    const port = await freePort();
    const { qilin, address } = await startWithAdmin(t, ['-w', '1', '--admin', `unix:${socket}`, '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    assert.equal(address, `unix:${socket}`);
    const stat = statSync(socket);
    assert.equal(stat.isSocket(), true);
    assert.equal(stat.mode & 0o777, 0o600);
    const info = await statusOf(t, address, {});
    assert.equal(info.cluster.slots, 1);
    const stop = await client(t, address, ['stop', '--json']);
    assert.equal(stop.exit.code, 0, stop.stderr);
    assert.deepEqual(JSON.parse(stop.stdout), { stopping: true });
    assert.deepEqual(await qilin.waitExit(20_000), { code: 0, signal: null });
    assert.equal(qilin.count('stopped'), 1);
    assert.equal(existsSync(socket), false);
  });

  test('qilin-daemon.json: daemon_port with credentials opens the admin interface; without, loopback only and a warning', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    writeFileSync(path.join(dir, 'app.cjs'), readFileSync(fixture('identity-server.cjs'), 'utf8').replace('Number(process.env.PORT)', String(port)));
    const daemon = path.join(dir, 'qilin-daemon.json');
    writeFileSync(daemon, JSON.stringify({ exec: 'app.cjs', workers: 2, daemon_port: 0, auth_username: 'admin', auth_password: 'daemon-secret' }));
    const secured = await startWithAdmin(t, [], { cwd: dir });
    const listening = /^0\.0\.0\.0:(\d+)$/.exec(secured.address);
    assert.ok(listening, `with credentials it listens on every interface, as qilin-daemon did (${secured.address})`);
    const local = `127.0.0.1:${listening[1]}`;
    const anonymous = await client(t, local, ['status']);
    assert.equal(anonymous.exit.code, 1, "the file's credentials are required");
    assert.match(anonymous.stderr, /answered 401/);
    const run = await runQilin(t, ['status', '--json', '--admin', local, '--admin-user', 'admin', '--admin-password', 'daemon-secret'], { env: NO_SECRETS });
    assert.equal(run.exit.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as InfoAnswer).cluster.slots, 2);
    assert.equal(secured.qilin.count('warning'), 0);
    secured.qilin.signal('SIGTERM');
    assert.equal((await secured.qilin.waitExit()).code, 0);

    writeFileSync(daemon, JSON.stringify({ exec: 'app.cjs', workers: 1, daemon_port: 0 }));
    const open = await startWithAdmin(t, [], { cwd: dir });
    assert.match(open.address, /^127\.0\.0\.1:\d+$/);
    const warning = await open.qilin.waitFor('warning');
    assert.match(warning.msg, /daemon_port 0 is opened on 127\.0\.0\.1 only/);
    assert.equal((await statusOf(t, open.address, {})).cluster.slots, 1);
  });

  test('without --admin, the commands use the admin address and credentials of the config file in their folder, or --config', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const adminPort = await freePort();
    writeFileSync(
      path.join(dir, 'qilin.config.json'),
      JSON.stringify({
        app: fixture('identity-server.cjs'),
        workers: 1,
        env: { PORT: String(port) },
        admin: { listen: `127.0.0.1:${adminPort}`, username: 'ops', password: 'from-the-file' },
      }),
    );
    const { qilin, address } = await startWithAdmin(t, [], { cwd: dir });
    assert.equal(address, `127.0.0.1:${adminPort}`);
    const shown = await runQilin(t, ['status'], { cwd: dir, env: NO_SECRETS });
    assert.equal(shown.exit.code, 0, shown.stderr);
    assert.match(shown.stdout, /^primary pid \d+, .*, 1\/1 slots ready\n/);
    assert.match(shown.stdout, /\nSLOT +PID +STATE/);
    const wrong = await runQilin(t, ['status', '--admin-password', 'wrong'], { cwd: dir, env: NO_SECRETS });
    assert.equal(wrong.exit.code, 1, 'a flag wins over the file');
    assert.match(wrong.stderr, /answered 401/);
    const elsewhere = await runQilin(t, ['status', '--json', '--config', path.join(dir, 'qilin.config.json')], { cwd: tempDir(t), env: NO_SECRETS });
    assert.equal(elsewhere.exit.code, 0, elsewhere.stderr);
    assert.equal((JSON.parse(elsewhere.stdout) as InfoAnswer).cluster.slots, 1);
    const stop = await runQilin(t, ['stop'], { cwd: dir, env: NO_SECRETS });
    assert.equal(stop.exit.code, 0, stop.stderr);
    assert.deepEqual(await qilin.waitExit(20_000), { code: 0, signal: null });

    // qilin-daemon.json's daemon_port with credentials listens on 0.0.0.0: the client reaches it on 127.0.0.1,
    // with the password from QILIN_ADMIN_PASSWORD as the server had it.
    const daemonDir = tempDir(t);
    const daemonPort = await freePort();
    writeFileSync(path.join(daemonDir, 'app.cjs'), readFileSync(fixture('identity-server.cjs'), 'utf8').replace('Number(process.env.PORT)', String(port)));
    writeFileSync(path.join(daemonDir, 'qilin-daemon.json'), JSON.stringify({ exec: 'app.cjs', workers: 2, daemon_port: daemonPort, auth_username: 'admin' }));
    const secret = { QILIN_ADMIN_PASSWORD: 'from-the-environment' };
    const daemon = await startWithAdmin(t, [], { cwd: daemonDir, env: secret });
    assert.equal(daemon.address, `0.0.0.0:${daemonPort}`);
    const daemonStatus = await runQilin(t, ['status', '--json'], { cwd: daemonDir, env: { ...NO_SECRETS, ...secret } });
    assert.equal(daemonStatus.exit.code, 0, daemonStatus.stderr);
    assert.equal((JSON.parse(daemonStatus.stdout) as InfoAnswer).cluster.slots, 2);
    const noSecret = await runQilin(t, ['status'], { cwd: daemonDir, env: NO_SECRETS });
    assert.equal(noSecret.exit.code, 2, 'the file needs the password the server had, as it would for the server');
    assert.match(noSecret.stderr, /Expected `auth_password` in .*qilin-daemon.json to be a non-empty string when `auth_username` is set/);
    daemon.qilin.signal('SIGTERM');
    assert.equal((await daemon.qilin.waitExit()).code, 0);

    const noAdmin = tempDir(t);
    writeFileSync(path.join(noAdmin, 'qilin.config.json'), JSON.stringify({ app: 'server.js' }));
    const missing = await runQilin(t, ['status'], { cwd: noAdmin, env: NO_SECRETS });
    assert.equal(missing.exit.code, 2);
    assert.match(missing.stderr, /Missing --admin: .*qilin\.config\.json sets no admin interface/);
  });

  test('qilin.config.json admin: a socket path relative to the file, flags over its keys', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    writeFileSync(
      path.join(dir, 'qilin.config.json'),
      JSON.stringify({
        app: fixture('identity-server.cjs'),
        workers: 1,
        env: { PORT: String(port) },
        admin: { listen: 'unix:admin.sock', token: 'from-the-file' },
      }),
    );
    const { qilin, address } = await startWithAdmin(t, ['--admin-token', 'from-the-flag'], { cwd: dir });
    assert.equal(address, `unix:${path.join(dir, 'admin.sock')}`);
    const byFile = await client(t, address, ['status'], { QILIN_ADMIN_TOKEN: 'from-the-file' });
    assert.equal(byFile.exit.code, 1, 'the flag wins over the file');
    assert.equal((await statusOf(t, address, { QILIN_ADMIN_TOKEN: 'from-the-flag' })).cluster.slots, 1);
    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);
  });

  test('the first word decides: `qilin status` is the client, `qilin ./status` runs an app named status; --help lists the commands', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    writeApp(path.join(dir, 'status'), 'named-status');
    const usage = await runQilin(t, ['status'], { cwd: dir, env: NO_SECRETS });
    assert.equal(usage.exit.code, 2);
    assert.match(usage.stderr, /Missing --admin/);
    const unreachable = await runQilin(t, ['status', '--admin', `unix:${path.join(dir, 'nobody.sock')}`], { cwd: dir, env: NO_SECRETS });
    assert.equal(unreachable.exit.code, 1);
    assert.match(unreachable.stderr, /Could not reach the admin interface at unix:.*nobody\.sock/);

    const app = startQilin(t, ['-w', '1', '--log-format', 'json', '--env', `PORT=${port}`, './status'], { cwd: dir, env: NO_SECRETS });
    await app.waitFor('started');
    assert.equal(parseIdentity((await get(port)).body).version, 'named-status');
    app.signal('SIGTERM');
    assert.equal((await app.waitExit()).code, 0);

    const help = await runQilin(t, ['--help']);
    assert.equal(help.exit.code, 0);
    for (const text of [
      'qilin status',
      'qilin reload',
      'qilin stop',
      'qilin scale <n>',
      '--admin <address>',
      '--admin-public-health',
      'QILIN_ADMIN_PASSWORD',
    ]) {
      assert.ok(help.stdout.includes(text), text);
    }
    const commandHelp = await runQilin(t, ['reload', '--help']);
    assert.equal(commandHelp.exit.code, 0);
    assert.match(commandHelp.stdout, /^Usage: qilin <command> \[--admin /);
  });
});
