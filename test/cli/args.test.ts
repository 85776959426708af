// Reading the command line and checking the merged settings through the library's pipeline, without starting anything.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { adminCommandOf, durationOrRaw, parseCommandLine, splitArgs } from '../../src/cli/args.js';
import { CliError } from '../../src/cli/errors.js';
import { type Plan, type SourcedSettings, mergeSettings, planFrom } from '../../src/cli/settings.js';
import { DEFAULT_WATCH_EXTENSIONS } from '../../src/options.js';

const none: SourcedSettings = { settings: {}, origins: new Map() };
const cwd = '/srv/app';
const plan = (argv: string[], file: SourcedSettings = none, env: Record<string, string> = {}): Plan =>
  planFrom(mergeSettings(file, parseCommandLine(argv).flags), cwd, (base, p) => path.resolve(base, p), env);

function usage(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CliError, `a CliError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('parseCommandLine', () => {
  test('reads every flag into the library option names', () => {
    const line = parseCommandLine([
      '-w',
      '3',
      '--ready-when',
      'ready',
      '--ready-timeout',
      '10s',
      '--timeout',
      '45',
      '--kill-timeout',
      '2s',
      '--respawn',
      '500ms',
      '--backoff',
      '1m',
      '--strategy',
      'rolling',
      '--batch',
      '2',
      '--canary',
      '30s',
      '--canary-error-rate',
      '2%',
      '--node-args',
      '--max-old-space-size=256 --title "my app"',
      '--env',
      'PORT=8080',
      '--env',
      'A=b=c',
      '--cwd',
      '/tmp',
      '--silent',
      '--pid-file',
      'run/q.pid',
      '--watch',
      'src',
      '--watch',
      'views',
      '--watch-delay',
      '1s',
      '--ignore',
      '*.log',
      '--watch-ext',
      'js, ts',
      '--watch-ext',
      '.hbs',
      '--log-format',
      'json',
      'server.js',
      '--',
      '--port',
      '8080',
    ]);
    assert.deepEqual(line.flags.settings, {
      app: 'server.js',
      args: ['--port', '8080'],
      workers: 3,
      batch: 2,
      readyWhen: 'ready',
      readyTimeout: '10s',
      timeout: 45,
      killTimeout: '2s',
      respawn: '500ms',
      backoff: '1m',
      strategy: 'rolling',
      canary: '30s',
      canaryErrorRate: '2%',
      execArgv: ['--max-old-space-size=256', '--title', 'my app'],
      env: { PORT: '8080', A: 'b=c' },
      cwd: '/tmp',
      silent: true,
      pidFile: 'run/q.pid',
      logFormat: 'json',
      watch: { paths: ['src', 'views'], delay: '1s', ignore: ['*.log'], extensions: ['js', 'ts', '.hbs'] },
    });
    assert.equal(line.help, false);
  });

  test('help, version and config', () => {
    assert.equal(parseCommandLine(['-h']).help, true);
    assert.equal(parseCommandLine(['--version']).version, true);
    assert.equal(parseCommandLine(['-V']).version, true);
    assert.equal(parseCommandLine(['--config', 'x.mjs']).config, 'x.mjs');
  });

  test('a bare number is seconds, a unit is kept for ms, off turns a timeout off', () => {
    assert.equal(durationOrRaw('30'), 30);
    assert.equal(durationOrRaw('1.5'), 1.5);
    assert.equal(durationOrRaw('500ms'), '500ms');
    assert.equal(durationOrRaw('off', true), false);
    assert.equal(durationOrRaw('off'), 'off');
  });

  test('splits --node-args like a shell, quotes included', () => {
    assert.deepEqual(splitArgs(' --a  --b="x y" \'--c d\' '), ['--a', '--b=x y', '--c d']);
    assert.deepEqual(splitArgs(''), []);
    usage(() => splitArgs('--a "b'), /Unclosed " in `--node-args`/);
  });

  test('unknown flags, missing values and stray arguments are usage errors that say what to do', () => {
    usage(() => parseCommandLine(['--wokers', '2', 'a.js']), /^Unknown option `--wokers`; did you mean `--workers`\? Run `qilin --help`/);
    usage(() => parseCommandLine(['--worker', '2', 'a.js']), /^Unknown option `--worker`; did you mean `--workers`\?/);
    usage(() => parseCommandLine(['a.js', '--pidfile', 'q.pid']), /did you mean `--pid-file`\?/);
    usage(() => parseCommandLine(['--verbose', 'a.js']), /^Unknown option `--verbose`\. Run `qilin --help`/);
    usage(() => parseCommandLine(['-x', 'a.js']), /^Unknown option `-x`\. Run `qilin --help`/);
    usage(() => parseCommandLine(['a.js', '--workers']), /^Option `--workers` needs a value/);
    usage(() => parseCommandLine(['a.js', 'b.js']), /Unexpected argument `b\.js` after the app `a\.js`: put the app's own arguments after `--`/);
    usage(() => parseCommandLine(['--env', 'PORT', 'a.js']), /Expected `--env` to be KEY=VALUE, got `PORT`/);
  });
});

describe("PM2's habits", () => {
  test('a PM2 flag or command is a usage error that gives the Qilin form', () => {
    usage(() => parseCommandLine(['-i', '2', 'app.js']), /^`-i` is PM2's; Qilin's is `-w 2` \(`--workers 2`\)$/);
    usage(() => parseCommandLine(['app.js', '--instances', 'max']), /already Qilin's default/);
    usage(() => parseCommandLine(['start', 'app.js', '-i', '4']), /^`start` is PM2's; qilin runs the app in the foreground: `qilin -w 4 app\.js`/);
    usage(() => parseCommandLine(['restart']), /`qilin reload`/);
  });

  test("a value of qilin's own flag is never taken for a PM2 flag, and an app named start runs as ./start", () => {
    assert.deepEqual(parseCommandLine(['--node-args', '-i', 'app.js']).flags.settings.execArgv, ['-i']);
    assert.equal(parseCommandLine(['./start']).flags.settings.app, './start');
    assert.equal(parseCommandLine(['-w', '2', 'start']).flags.settings.app, 'start');
    assert.deepEqual(parseCommandLine(['app.js', '--', '-i', '2']).flags.settings.args, ['-i', '2']);
  });
});

describe('the admin flags and commands', () => {
  test('the first word alone says whether the command line is a command of the admin client', () => {
    assert.equal(adminCommandOf(['status', '--admin', '9000']), 'status');
    assert.equal(adminCommandOf(['scale', '3']), 'scale');
    assert.equal(adminCommandOf(['./status']), null, 'an app file named status is run with a path');
    assert.equal(adminCommandOf(['--admin', '9000', 'status']), null);
    assert.equal(adminCommandOf(['-w', '2', 'reload']), null);
    assert.equal(adminCommandOf([]), null);
  });

  test('--admin and its credentials become the library admin option; the environment fills in the secrets', () => {
    const p = plan(['--admin', '0.0.0.0:9000', '--admin-user', 'ops', '--admin-public-health', 'a.js'], none, { QILIN_ADMIN_PASSWORD: 'from-env' });
    assert.deepEqual(p.admin, { listen: '0.0.0.0:9000', username: 'ops', password: 'from-env', publicHealth: true });
    assert.deepEqual(p.options.admin?.listen, { kind: 'tcp', host: '0.0.0.0', port: 9000 });
    assert.equal(p.options.admin?.publicHealth, true);
    assert.equal(p.clusterOptions.admin, p.admin);
    const flagWins = plan(['--admin', '9000', '--admin-token', 'flag-token', 'a.js'], none, { QILIN_ADMIN_TOKEN: 'env-token' });
    assert.equal(flagWins.admin?.token, 'flag-token');
    assert.equal(plan(['a.js'], none, { QILIN_ADMIN_PASSWORD: 'x', QILIN_ADMIN_TOKEN: 'y' }).admin, null, 'secrets alone do not open it');
    // Both secrets in the environment and no user name: the token is used, the password (with no user) left out.
    const both = plan(['--admin', '0.0.0.0:9000', 'a.js'], none, { QILIN_ADMIN_PASSWORD: 'pw', QILIN_ADMIN_TOKEN: 'env-token' });
    assert.deepEqual(both.admin, { listen: '0.0.0.0:9000', token: 'env-token' });
    assert.equal(plan(['a.js']).options.admin, null);
  });

  test('--canary and --canary-error-rate: a duration or off, and a share or a percentage, named by flag when wrong', () => {
    const p = plan(['--canary', '30s', '--canary-error-rate', '2%', 'a.js']);
    assert.equal(p.options.canary, 30_000);
    assert.equal(p.options.canaryErrorRate, 0.02);
    assert.equal(plan(['--canary', 'off', 'a.js']).options.canary, null);
    assert.equal(plan(['--canary', '10', '--canary-error-rate', '0.005', 'a.js']).options.canaryErrorRate, 0.005);
    usage(() => plan(['--canary-error-rate', 'lots', 'a.js']), /^Expected `--canary-error-rate` to be a share from 0 to 1: .*got `"lots"` \(string\)$/);
  });

  test('--no-lean-primary leaves the primary as node started it; without it, it is made lean', () => {
    assert.equal(plan(['--no-lean-primary', 'a.js']).options.leanPrimary, false);
    assert.equal(plan(['a.js']).options.leanPrimary, true);
  });

  test('--no-rebalance turns rebalancing off; without it, it is on', () => {
    assert.equal(plan(['--no-rebalance', 'a.js']).options.rebalance, false);
    assert.equal(plan(['a.js']).options.rebalance, true);
  });

  test('flags win over the config file key by key', () => {
    const file: SourcedSettings = {
      settings: { app: '/srv/app/server.js', admin: { listen: 'unix:/run/app/admin.sock', username: 'ops', password: 'file-pw' } },
      origins: new Map([['admin.listen', { kind: 'file', file: '/srv/app/qilin.config.json', key: 'admin.listen' }]]),
    };
    assert.deepEqual(plan(['--admin', '9100'], file).admin, { listen: '9100', username: 'ops', password: 'file-pw' });
  });

  test('errors name the flag, say what to add, and never repeat a secret', () => {
    usage(
      () => plan(['--admin', '0.0.0.0:0', 'a.js']),
      /^Expected `--admin` to be a loopback address .*; set `--admin-user` and `--admin-password` \(or QILIN_ADMIN_PASSWORD\), or `--admin-token` \(or QILIN_ADMIN_TOKEN\), to listen on 0\.0\.0\.0:0, got `"0\.0\.0\.0:0"` \(string\)$/,
    );
    usage(() => plan(['--admin', 'example.com', 'a.js']), /^Expected `--admin` to be a port \(0-65535\), 'host:port'/);
    usage(() => plan(['--admin-token', 'x', 'a.js']), /^`--admin-token` needs an address to listen on: add `--admin <port \| host:port \| unix:\/path>`/);
    usage(
      () => plan(['--admin', '9000', '--admin-user', 'ops', 'a.js']),
      /^Expected `--admin-password` \(or QILIN_ADMIN_PASSWORD\) to be a non-empty string when `--admin-user` is set/,
    );
    usage(
      () => plan(['--admin', '9000', 'a.js'], none, { QILIN_ADMIN_PASSWORD: 'pw' }),
      /^Expected `--admin-user` to be a non-empty string when `QILIN_ADMIN_PASSWORD` is set/,
    );
    usage(
      () => plan(['--admin', '9000', '--admin-user', 'ops', '--admin-password', 'tab\there', 'a.js']),
      /^Expected `--admin-password` to be .*, got a value not shown here \(a secret\)$/,
    );
    usage(() => plan(['--admin-public-health=yes', 'a.js']), /^Option `--admin-public-health` takes no value/);
  });
});

describe('planFrom', () => {
  test('applies the command defaults that differ from the library, and log: false', () => {
    const p = plan(['app.js']);
    assert.equal(p.app, '/srv/app/app.js');
    assert.equal(p.options.timeout, 30_000);
    assert.equal(p.options.backoff, 30_000);
    assert.equal(p.options.killTimeout, 5_000);
    assert.equal(p.clusterOptions.log, false);
    assert.equal(p.logFormat, 'human');
    assert.equal(p.pidFile, null);
    assert.equal(p.options.watch, null);
  });

  test('flag values go through the library pipeline and errors name the flag', () => {
    usage(() => plan(['-w', '-1', 'a.js']), /^Expected `--workers` to be an integer from 1 to 1024 \(leave it out for one per CPU\), got `-1` \(number\)$/);
    usage(() => plan(['-w', 'lots', 'a.js']), /^Expected `--workers` to be an integer from 1 to 1024 .*, got `"lots"` \(string\)$/);
    usage(() => plan(['--timeout', 'soon', 'a.js']), /^Expected `--timeout` to be a duration/);
    usage(() => plan(['--strategy', 'some', 'a.js']), /^Expected `--strategy` to be one of 'all', 'rolling'/);
    usage(() => plan(['--ready-when', 'now', 'a.js']), /^Expected `--ready-when` to be one of/);
    usage(() => plan(['--watch-delay', 'x', '--watch', 'src', 'a.js']), /^Expected `--watch-delay` to be a duration/);
    usage(() => plan(['--log-format', 'xml', 'a.js']), /^Expected `--log-format` to be one of 'human', 'json', got `"xml"`/);
    usage(() => plan(['--watch-delay', '1s', 'a.js']), /`--watch-delay` needs something to watch/);
    usage(() => plan(['--watch-ext', 'hbs', 'a.js']), /^`--watch-ext` needs something to watch: add `--watch <path>`/);
    usage(
      () => plan(['--watch', 'src', '--watch-ext', ',', 'a.js']),
      /^Expected `--watch-ext` to be one or more extensions such as 'js', or '\*' for every file/,
    );
    usage(
      () => plan(['--watch', 'src', '--watch-ext', 'js,src/*.ts', 'a.js']),
      /^Expected `--watch-ext` to be an extension such as 'js' or '.js', or '\*' for every file, got `"src\/\*.ts"`/,
    );
    usage(() => plan([]), /No app given/);
  });

  test('watch flags resolve to absolute paths, the delay in ms, and ignore globs after the defaults', () => {
    const p = plan(['--watch', 'src', '--watch-delay', '2', '--ignore', 'dist/**', 'a.js']);
    assert.deepEqual(p.options.watch, {
      paths: [path.resolve('src')],
      delay: 2_000,
      ignore: ['node_modules', '.*', 'dist/**'],
      extensions: DEFAULT_WATCH_EXTENSIONS,
    });
    assert.deepEqual(plan(['--watch', 'src', '--watch-ext', 'js,HBS', 'a.js']).options.watch?.extensions, ['js', 'hbs']);
    assert.equal(plan(['--watch', 'src', '--watch-ext', '*', 'a.js']).options.watch?.extensions, null, "'*': every file");
  });

  test('flags win over the config file; env merges per variable; watch merges per part', () => {
    const file: SourcedSettings = {
      settings: { app: '/srv/app/server.js', workers: 4, env: { A: '1', B: '2' }, watch: { paths: ['/srv/app/src'], delay: '5s' }, timeout: '10s' },
      origins: new Map([
        ['app', { kind: 'file', file: '/srv/app/qilin.config.json', key: 'app' }],
        ['workers', { kind: 'file', file: '/srv/app/qilin.config.json', key: 'workers' }],
      ]),
    };
    const p = plan(['-w', '2', '--env', 'B=3', '--watch-delay', '1s'], file);
    assert.equal(p.app, '/srv/app/server.js');
    assert.equal(p.options.workers, 2);
    assert.deepEqual(p.options.env, { A: '1', B: '3' });
    assert.deepEqual(p.options.watch?.paths, ['/srv/app/src']);
    assert.equal(p.options.watch?.delay, 1_000);
    assert.equal(p.options.timeout, 10_000);
  });

  test('a wrong value from a config file names the key and the file', () => {
    const file: SourcedSettings = {
      settings: { app: '/a.js', workers: 'four' },
      origins: new Map([['workers', { kind: 'file', file: '/etc/qilin.config.json', key: 'workers' }]]),
    };
    assert.throws(
      () => plan([], file),
      (error: unknown) => {
        assert.ok(error instanceof CliError);
        assert.equal(error.code, 'ERR_QILIN_CONFIG');
        assert.match(error.message, /^Expected `workers` in \/etc\/qilin\.config\.json to be an integer from 1 to 1024/);
        return true;
      },
    );
  });

  test('`-w 0` and `workers: 0` are refused by name (the library reads 0 as one per CPU); more than 1024 too', () => {
    usage(() => plan(['-w', '0', 'a.js']), /^Expected `--workers` to be an integer from 1 to 1024 \(leave it out for one per CPU\), got `0` \(number\)$/);
    usage(() => plan(['--workers', '1025', 'a.js']), /^Expected `--workers` to be an integer from 1 to 1024 .*, got `1025` \(number\)$/);
    const file = (workers: unknown): SourcedSettings => ({
      settings: { app: '/a.js', workers },
      origins: new Map([['workers', { kind: 'file', file: '/srv/qilin.config.json', key: 'workers' }]]),
    });
    usage(() => plan([], file(0)), /^Expected `workers` in \/srv\/qilin\.config\.json to be an integer from 1 to 1024 .*, got `0` \(number\)$/);
    usage(() => plan([], file(1e6)), /got `1000000` \(number\)$/);
    assert.equal(plan(['-w', '1024', 'a.js']).options.workers, 1024);
  });
});
