// The admin client and `qilin status|reload|stop|scale` (runAdminCommand) against a real admin interface.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminRequestError, reload, scale, status, stop } from '../../src/cli/admin-client.js';
import { type TargetFromConfig, runAdminCommand } from '../../src/cli/admin-command.js';
import { CliError } from '../../src/cli/errors.js';
import { type Running, startCluster, suiteCleanup, until, within } from '../admin/helpers.js';

const USER = 'ops';
const PASSWORD = 'pass-7c1e9b';
const TOKEN = 'tok-client-5d8f2a';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function qilin(argv: string[], env: Record<string, string> = {}, fromConfig?: TargetFromConfig): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await within(
    30_000,
    `qilin ${argv.join(' ')}`,
    runAdminCommand(argv, env, { write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }, fromConfig),
  );
  return { code, stdout, stderr };
}

describe('the command-line client', { timeout: 90_000 }, () => {
  const cleanup = suiteCleanup();
  let running: Running;
  let dir: string;
  let flag: string;
  let token: string[];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'qilin-admin-'));
    flag = path.join(dir, 'fail');
    running = await startCluster(cleanup.add, { env: { FAIL_FLAG_FILE: flag }, admin: { listen: 0, username: USER, password: PASSWORD, token: TOKEN } });
    token = ['--admin', running.admin, '--admin-token', TOKEN];
  });
  after(async () => {
    await cleanup.run();
    await rm(dir, { recursive: true, force: true });
  });

  test('status() returns /info; a wrong credential is an AdminRequestError with status 401', async () => {
    const info = await status({ address: running.admin, credentials: { token: TOKEN } });
    assert.equal(info.workers.length, 2);
    assert.equal(info.master.pid, process.pid);
    await assert.rejects(status({ address: running.admin, credentials: { token: 'wrong' } }), (error: unknown) => {
      assert.ok(error instanceof AdminRequestError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'ERR_QILIN_ADMIN_REQUEST');
      return true;
    });
  });

  test('qilin status prints a table with one row per worker', async () => {
    const { code, stdout, stderr } = await qilin(['status', ...token]);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    const lines = stdout.split('\n');
    assert.match(
      lines[0] ?? '',
      new RegExp(`^primary pid ${process.pid}, CPU \\d+\\.\\d%, memory \\d+\\.\\d MB, up \\S+( \\S+)?, generation 0, 2/2 slots ready$`),
    );
    const header = lines.findIndex((line) => line.startsWith('SLOT'));
    assert.deepEqual(lines[header]?.split(/\s{2,}/), ['SLOT', 'PID', 'STATE', 'GEN', 'CPU', 'MEMORY', 'UPTIME', 'RESTARTS', 'RESPONSES', '5XX', 'CONNS']);
    running.cluster.activeWorkers().forEach((worker, slot) => {
      const row = lines[header + 1 + slot]?.split(/\s{2,}/) ?? [];
      assert.equal(row.length, 11, lines[header + 1 + slot]);
      assert.deepEqual(row.slice(0, 4), [String(slot), String(worker?.process.pid), 'ready', '0']);
      assert.match(row[4] ?? '', /^\d+\.\d%$/);
      assert.match(row[5] ?? '', /^\d+\.\d MB$/);
      assert.match(row[6] ?? '', /^\d+[dhms]( \d+[hms])?$/);
      assert.equal(row[7], '0');
      // The worker's own count of HTTP responses, none of them a 5xx.
      assert.match(row[8] ?? '', /^\d+$/);
      assert.equal(row[9], '0');
      // Its open connections: a number, whatever the tests before left open.
      assert.match(row[10] ?? '', /^\d+$/);
    });
    assert.match(stdout, /\ntotal CPU \d+\.\d%, memory \d+\.\d MB\n$/);
  });

  test('qilin status --json prints /info for scripts', async () => {
    const { code, stdout } = await qilin(['status', '--json', ...token]);
    assert.equal(code, 0);
    const info = JSON.parse(stdout);
    assert.deepEqual(Object.keys(info).sort(), ['cluster', 'master', 'total', 'workers']);
    assert.equal(info.workers.length, 2);
  });

  test('qilin status --watch shows the table again every interval, --count times; --json gives one line per look', async () => {
    const view = await qilin(['status', '--watch', '--interval', '100ms', '--count', '2', ...token]);
    assert.equal(view.code, 0, view.stderr);
    const frames = view.stdout.split(/\n(?=\S+, every 100 ms \(Ctrl-C to stop\))/);
    assert.equal(frames.length, 2, view.stdout);
    for (const frame of frames) {
      assert.match(frame, /^\S+, every 100 ms \(Ctrl-C to stop\), \d\d:\d\d:\d\d UTC\n\nprimary pid \d+/);
      assert.match(frame, /\nSLOT {2}PID/);
    }
    const lines = await qilin(['status', '--watch', '--json', '--interval', '0.1', '--count', '2', ...token]);
    const looks = lines.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(looks.length, 2);
    for (const look of looks) {
      assert.match(look.at, /^\d{4}-\d\d-\d\dT/);
      assert.equal(look.workers.length, 2);
    }
  });

  test('qilin status --watch says when the cluster cannot be reached, and goes on looking', async () => {
    const view = await qilin(['status', '--watch', '--interval', '100ms', '--count', '2', '--admin', 'unix:/nonexistent/qilin.sock']);
    assert.equal(view.code, 0);
    assert.equal(view.stdout.match(/unreachable: .+; trying again/g)?.length, 2, view.stdout);
  });

  test('--watch, --interval and --count are checked', async () => {
    for (const [argv, message] of [
      [['reload', '--watch'], /--watch applies to status only/],
      [['status', '--interval', '2s'], /--interval and --count go with --watch/],
      [['status', '--watch', '--interval', '10ms'], /--interval must be a duration of at least 100ms .*got `10ms`/],
      [['status', '--watch', '--count', '0'], /--count must be a whole number from 1; got `0`/],
    ] as const) {
      const run = await qilin([...argv, ...token]);
      assert.equal(run.code, 2, argv.join(' '));
      assert.match(run.stderr, message);
    }
  });

  test('credentials come from QILIN_ADMIN_TOKEN or QILIN_ADMIN_PASSWORD when not given as flags', async () => {
    assert.equal((await qilin(['status', '--admin', running.admin], { QILIN_ADMIN_TOKEN: TOKEN })).code, 0);
    assert.equal((await qilin(['status', '--admin', running.admin, '--admin-user', USER], { QILIN_ADMIN_PASSWORD: PASSWORD })).code, 0);
    assert.equal((await qilin(['status', '--admin', running.admin, '--admin-user', USER, '--admin-password', PASSWORD])).code, 0);
  });

  test('missing or wrong credentials exit 1 and say how to give them', async () => {
    for (const argv of [
      ['status', '--admin', running.admin],
      ['status', '--admin', running.admin, '--admin-token', 'nope'],
    ]) {
      const { code, stdout, stderr } = await qilin(argv);
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.match(stderr, /answered 401: Unauthorized\nGive credentials with --admin-user and --admin-password \(or QILIN_ADMIN_PASSWORD\), or --admin-token/);
    }
  });

  test('qilin reload shows the outcome and exits 0', async () => {
    const { code, stdout } = await qilin(['reload', ...token]);
    assert.equal(code, 0);
    assert.match(stdout, /^Reloading the cluster at 127\.0\.0\.1:\d+\.\.\.\n/);
    assert.match(stdout, /Reloaded: generation 1 serves every slot \(\d+\.\d s\)\.\n$/);
    assert.equal(running.cluster.generation, 1);
  });

  test('qilin reload exits 1 with the reason and the worker’s stderr when the reload fails', async () => {
    await writeFile(flag, '');
    try {
      const { code, stderr } = await qilin(['reload', ...token]);
      assert.equal(code, 1);
      assert.match(stderr, /^Reload to generation 2 failed: slot \d \(pid \d+\) exited with code 1 before it was ready; the previous workers keep serving\./);
      assert.match(stderr, /last stderr lines:\n {4}refusing to start: the fail flag file exists/);
      assert.equal(running.cluster.generation, 1);
    } finally {
      await rm(flag, { force: true });
    }
  });

  test('reload() resolves with the outcome; with wait: false it returns once the reload has begun', async () => {
    const outcome = await reload({ address: running.admin, credentials: { username: USER, password: PASSWORD } });
    assert.equal(outcome?.outcome, 'succeeded');
    const ended = new Promise((resolve) => running.cluster.once('reloadEnd', resolve));
    assert.equal(await reload({ address: running.admin, credentials: { token: TOKEN } }, { wait: false }), null);
    await within(10_000, 'the reload to end', ended);
  });

  test('qilin scale N changes the number of workers; bad counts are usage errors', async () => {
    const up = await qilin(['scale', '3', ...token]);
    assert.equal(up.code, 0);
    assert.equal(up.stdout, 'Scaled to 3 workers.\n');
    assert.equal(running.cluster.activeWorkers().filter(Boolean).length, 3);
    await scale({ address: running.admin, credentials: { token: TOKEN } }, 2);
    assert.equal(running.cluster.activeWorkers().length, 2);
    for (const count of ['abc', '1e3', '', '1.5', '99999', '1025', '0x2']) {
      const { code, stderr } = await qilin(['scale', count, ...token]);
      assert.equal(code, 2, count);
      assert.match(stderr, /`scale` needs the number of workers, a whole number from 0 to 1024/);
    }
    const negative = await qilin(['scale', '-1', ...token]);
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /Unknown option `-1`/);
    assert.equal(running.cluster.activeWorkers().length, 2);
  });

  test('usage errors exit 2 and print the usage', async () => {
    const cases: [string[], RegExp][] = [
      [[], /Missing the command/],
      [['restart', ...token], /Unknown command `restart`: expected status, reload, stop, scale or upgrade/],
      [['stauts', ...token], /Unknown command `stauts`; did you mean `status`\?/],
      [
        ['status'],
        /Missing --admin: give the address .* with --admin, or run where the qilin\.config\.json .* that sets it is, or point at it with --config <file>/,
      ],
      [['status', ...token, '--verbose'], /Unknown option `--verbose`\n/],
      [['status', ...token, '--jsno'], /Unknown option `--jsno`; did you mean `--json`\?/],
      [['status', '--admn', running.admin], /Unknown option `--admn`; did you mean `--admin`\?/],
      [['status', ...token, 'extra'], /Unexpected argument `extra`/],
      [['stop', ...token, 'all'], /Unexpected argument `all`: `qilin stop` takes no app name or id/],
      [['status', '--admin', 'http://localhost:9000'], /--admin must be a port, host:port, \[ipv6\]:port or unix:\/path; got `http:\/\/localhost:9000`/],
      [['status', '--admin', running.admin, '--admin-user', USER], /--admin-user needs a password/],
      [['status', '--admin', running.admin, '--admin-password', PASSWORD], /A password needs a user name/],
      [['stop', ...token, '--no-wait'], /--no-wait applies to reload and scale only/],
    ];
    for (const [argv, message] of cases) {
      const { code, stdout, stderr } = await qilin(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.match(stderr, /Usage: qilin <command>/);
    }
    const help = await qilin(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: qilin <command>/);
  });

  test('without --admin, the address and credentials come from the config file; each credential flag wins over it', async () => {
    const asked: (string | undefined)[] = [];
    const fromFile: TargetFromConfig = async (config) => {
      asked.push(config);
      return { address: { kind: 'tcp', host: '127.0.0.1', port: Number(running.admin.split(':')[1]) }, credentials: { username: USER, password: PASSWORD } };
    };
    const shown = await qilin(['status', '--json'], {}, fromFile);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).workers.length, 2);
    const wrong = await qilin(['status', '-c', 'elsewhere/qilin.config.json', '--admin-password', 'wrong'], {}, fromFile);
    assert.equal(wrong.code, 1, 'the flag wins over the file');
    assert.match(wrong.stderr, /answered 401/);
    assert.deepEqual(asked, [undefined, 'elsewhere/qilin.config.json']);
    // --admin given: the file is not read at all.
    const given = await qilin(['status', '--admin', running.admin, '--admin-token', TOKEN], {}, () => assert.fail('the file is not read'));
    assert.equal(given.code, 0);

    const none = await qilin(['status'], {}, async () => null);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Missing --admin: .* --config <file>/);
    const broken = await qilin(['status'], {}, async () => {
      throw new CliError('ERR_QILIN_CONFIG', '/srv/qilin.config.json: unknown key `wokers`');
    });
    assert.equal(broken.code, 2);
    assert.equal(broken.stderr, 'qilin: /srv/qilin.config.json: unknown key `wokers`\n');
  });

  test('an address nobody listens on exits 1 saying it could not be reached', async () => {
    const { code, stderr } = await qilin(['status', '--admin', 'unix:/nonexistent/qilin-admin.sock']);
    assert.equal(code, 1);
    assert.match(stderr, /Could not reach the admin interface at unix:\/nonexistent\/qilin-admin\.sock: .*ENOENT/);
  });

  test('qilin stop stops the cluster gracefully', async () => {
    const { code, stdout } = await qilin(['stop', ...token]);
    assert.equal(code, 0);
    assert.match(stdout, /The cluster is stopping/);
    await until('every worker to exit', () => running.cluster.workers().length === 0);
    await assert.rejects(
      stop({ address: running.admin, credentials: { token: TOKEN } }),
      (error: unknown) => error instanceof AdminRequestError && error.status === null,
    );
  });
});

describe('qilin reload progress', { timeout: 60_000 }, () => {
  const cleanup = suiteCleanup();
  after(() => cleanup.run());

  test('while a reload runs, it shows how many new workers are ready', async () => {
    // With readyWhen 'started' a worker is ready only after staying up a second: long enough to watch.
    const { admin } = await startCluster(cleanup.add, { readyWhen: 'started', admin: { listen: 0 } });
    const { code, stdout } = await qilin(['reload', '--admin', admin]);
    assert.equal(code, 0);
    assert.match(stdout, /\ngeneration 1: [0-2] of 2 new workers ready\n/);
    assert.match(stdout, /Reloaded: generation 1 serves every slot/);
  });
});
