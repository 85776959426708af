// Config files: qilin.config.json and qilin-daemon.json read into settings, their errors, finding and loading them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { configFormat, findConfigFile, loadConfigFile, readConfig } from '../../src/cli/config.js';
import { CliError } from '../../src/cli/errors.js';
import { mergeSettings, planFrom } from '../../src/cli/settings.js';
import { DEFAULT_WATCH_EXTENSIONS } from '../../src/options.js';
import { runQilin, tempDir } from './helpers.js';

function configError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CliError, `a CliError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_QILIN_CONFIG');
    assert.match(error.message, message);
    return true;
  });
}

const plan = (file: string, raw: unknown, env: Record<string, string> = {}) =>
  planFrom(mergeSettings(readConfig(file, raw), { settings: {}, origins: new Map() }), '/elsewhere', (b, p) => path.resolve(b, p), env);

describe('qilin.config.json', () => {
  test('takes the library option names and the command settings; paths are relative to the file', () => {
    const p = plan('/srv/app/qilin.config.json', {
      app: 'server.js',
      args: ['--port', '80'],
      workers: 3,
      timeout: '20s',
      readyWhen: 'ready',
      strategy: 'rolling',
      batch: 2,
      env: { NODE_ENV: 'production' },
      cwd: '.',
      silent: true,
      execArgv: ['--enable-source-maps'],
      watch: { paths: ['src'], delay: '2s', ignore: ['*.tmp'], extensions: ['js', 'hbs'] },
      pidFile: 'run/qilin.pid',
      logFormat: 'json',
    });
    assert.equal(p.app, '/srv/app/server.js');
    assert.deepEqual(p.options.args, ['--port', '80']);
    assert.equal(p.options.workers, 3);
    assert.equal(p.options.timeout, 20_000);
    assert.equal(p.options.cwd, '/srv/app');
    assert.equal(p.pidFile, '/srv/app/run/qilin.pid');
    assert.equal(p.logFormat, 'json');
    assert.deepEqual(p.options.watch, { paths: ['/srv/app/src'], delay: 2_000, ignore: ['node_modules', '.*', '*.tmp'], extensions: ['js', 'hbs'] });
    assert.equal(p.admin, null);
  });

  test('watch as a path or a list of paths', () => {
    assert.deepEqual(plan('/srv/qilin.config.json', { app: 'a.js', watch: 'lib' }).options.watch?.paths, ['/srv/lib']);
    assert.deepEqual(plan('/srv/qilin.config.json', { app: 'a.js', watch: ['lib', '/abs'] }).options.watch?.paths, ['/srv/lib', '/abs']);
    assert.equal(plan('/srv/qilin.config.json', { app: 'a.js', watch: false }).options.watch, null);
    assert.deepEqual(plan('/srv/qilin.config.json', { app: 'a.js', watch: 'lib' }).options.watch?.extensions, DEFAULT_WATCH_EXTENSIONS);
    assert.equal(plan('/srv/qilin.config.json', { app: 'a.js', watch: { paths: 'lib', extensions: '*' } }).options.watch?.extensions, null);
  });

  test('an unknown key is an error that names it and the file, and the key it most likely meant', () => {
    configError(
      () => readConfig('/srv/qilin.config.json', { app: 'a.js', wokers: 2 }),
      /^\/srv\/qilin\.config\.json: unknown key `wokers` \(qilin\.config format\); did you mean `workers`\? Expected one of workers, readyWhen, /,
    );
    configError(
      () => readConfig('/srv/qilin.config.json', { app: 'a.js', watch: { path: 'src' } }),
      /unknown key `watch\.path` \(qilin\.config format\); did you mean `watch\.paths`\?/,
    );
    configError(
      () => readConfig('/srv/qilin.config.json', { app: 'a.js', admin: { lisen: 9000 } }),
      /unknown key `admin\.lisen` .*; did you mean `admin\.listen`\?/,
    );
    configError(() => readConfig('/srv/qilin.config.json', { app: 'a.js', ready_timeout: 5 }), /did you mean `readyTimeout`\?/);
    configError(
      () => readConfig('/srv/qilin-daemon.json', { exec: 'a.js', reload_dealy: 100 }),
      /unknown key `reload_dealy` \(qilin-daemon\.json format\); did you mean `reload_delay`\?/,
    );
    configError(() => readConfig('/srv/qilin.config.json', { logger: {} }), /unknown key `logger` \(qilin\.config format\): expected one of /);
    configError(() => readConfig('/srv/qilin.config.json', [1, 2]), /expected an object of settings/);
  });

  test('a wrong value is named by its key in the file', () => {
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', killTimeout: 'later' }),
      /^Expected `killTimeout` in \/srv\/qilin\.config\.json to be a duration/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', watch: { paths: 'src', delay: 'x' } }),
      /^Expected `watch\.delay` in \/srv\/qilin\.config\.json/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', watch: { paths: 'src', extensions: ['js', 'a b'] } }),
      /^Expected `watch\.extensions\[1\]` in \/srv\/qilin\.config\.json to be an extension such as 'js'/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', watch: { extensions: ['js'] } }),
      /^`watch\.extensions` in \/srv\/qilin\.config\.json needs something to watch/,
    );
  });

  test('every numeric key is checked as a flag is: out of range, fractional, a string for a number, a size without a unit', () => {
    const refused: [string, unknown, RegExp][] = [
      ['workers', 1e20, /an integer from 1 to 1024/],
      ['workers', '3', /an integer from 1 to 1024.*got `"3"` \(string\)/],
      ['workers', 1025, /an integer from 1 to 1024/],
      ['timeout', -1, /a duration/],
      ['killTimeout', 1e30, /a duration of at most 2147483647 ms/],
      ['readyTimeout', '10', /a duration above zero/],
      ['heartbeatTimeout', 1e-9, /a duration above zero/],
      ['respawn', 'soon', /a duration/],
      ['backoff', -0.5, /a duration/],
      ['batch', 1.5, /an integer of at least 1/],
      ['batch', '2', /an integer of at least 1/],
      ['maxMemory', '512', /a size: a whole number of bytes above zero, or a string with a unit such as '512MB'/],
      ['maxMemory', 0.5, /a size/],
      ['maxMemory', '9999999999999GB', /a size/],
    ];
    for (const [key, value, expected] of refused) {
      configError(
        () => plan('/srv/qilin.config.json', { app: 'a.js', [key]: value }),
        new RegExp(`^Expected \`${key}\` in /srv/qilin\\.config\\.json to be ${expected.source}`),
      );
    }
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', watch: { paths: 'src', delay: 1e30 } }),
      /^Expected `watch\.delay` in \/srv\/qilin\.config\.json to be a duration of at most/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', admin: { listen: 1e20 } }),
      /^Expected `admin\.listen` in \/srv\/qilin\.config\.json to be a port \(0-65535\)/,
    );
    assert.equal(plan('/srv/qilin.config.json', { app: 'a.js', maxMemory: '512MB' }).options.maxMemory, 512 * 1024 ** 2);
    assert.equal(plan('/srv/qilin.config.json', { app: 'a.js', maxMemory: 536870912 }).options.maxMemory, 512 * 1024 ** 2);
  });

  test('admin takes the library keys; a relative socket is relative to the file; secrets may come from the environment', () => {
    const p = plan('/srv/app/qilin.config.json', {
      app: 'a.js',
      admin: { listen: 'unix:run/admin.sock', username: 'ops', password: 'pw', publicHealth: true },
    });
    assert.deepEqual(p.admin, { listen: 'unix:/srv/app/run/admin.sock', username: 'ops', password: 'pw', publicHealth: true });
    assert.deepEqual(p.options.admin?.listen, { kind: 'unix', path: '/srv/app/run/admin.sock' });
    assert.equal(p.options.admin?.publicHealth, true);

    const fromEnv = plan(
      '/srv/qilin.config.json',
      { app: 'a.js', admin: { listen: '0.0.0.0:9000', username: 'ops' } },
      { QILIN_ADMIN_PASSWORD: 'from-env', QILIN_ADMIN_TOKEN: 't0k3n' },
    );
    assert.deepEqual(fromEnv.admin, { listen: '0.0.0.0:9000', username: 'ops', password: 'from-env', token: 't0k3n' });
    const fileWins = plan(
      '/srv/qilin.config.json',
      { app: 'a.js', admin: { listen: 9000, token: 'in-file' } },
      { QILIN_ADMIN_TOKEN: 'from-env', QILIN_ADMIN_PASSWORD: 'pw' },
    );
    assert.deepEqual(fileWins.admin, { listen: 9000, token: 'in-file' }, 'the file wins; a password without a user name is left out beside a token');
    assert.equal(plan('/srv/qilin.config.json', { app: 'a.js', admin: false }).admin, null);
  });

  test('admin errors name the key in the file, and never repeat a secret', () => {
    configError(
      () => readConfig('/srv/qilin.config.json', { app: 'a.js', admin: { port: 9000 } }),
      /unknown key `admin\.port` \(qilin\.config format\): expected one of listen, username, password, token, publicHealth/,
    );
    configError(
      () => readConfig('/srv/qilin.config.json', { app: 'a.js', admin: 9000 }),
      /expected `admin` to be \{ listen, username, password, token, publicHealth, readyThreshold \} or false/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', admin: { listen: '0.0.0.0:9000' } }),
      /^Expected `admin\.listen` in \/srv\/qilin\.config\.json to be a loopback address .*; set `admin\.username` and `admin\.password` \(or QILIN_ADMIN_PASSWORD\), or `admin\.token` \(or QILIN_ADMIN_TOKEN\), to listen on 0\.0\.0\.0:9000/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', admin: { username: 'ops' } }),
      /^`admin\.username` in \/srv\/qilin\.config\.json needs an address to listen on/,
    );
    configError(
      () => plan('/srv/qilin.config.json', { app: 'a.js', admin: { listen: 9000, token: 'has space s3cret' } }),
      /^Expected `admin\.token` in \/srv\/qilin\.config\.json to be .*, got a value not shown here \(a secret\)$/,
    );
    assert.throws(
      () => plan('/srv/qilin.config.json', { app: 'a.js', admin: { listen: 9000, token: 'has space s3cret' } }),
      (error: Error) => !error.message.includes('s3cret'),
    );
  });
});

describe('qilin-daemon.json', () => {
  const sample = {
    exec: 'app.js',
    args: [],
    workers: 3,
    daemon_port: 9999,
    worker_disconnect_timeout: 5000,
    silent: false,
    watch: ['libs', 'routes', 'config/config.json'],
    reload_delay: 2000,
    auth_username: 'admin',
    auth_password: 'secret',
    pid_file: 'qilin.pid',
    ps_name: 'my-app',
  };

  test('is recognized by its file name or by its keys', () => {
    assert.equal(configFormat('/x/qilin-daemon.json', { workers: 2 }), 'qilin-daemon');
    assert.equal(configFormat('/x/prod.json', { exec: 'a.js' }), 'qilin-daemon');
    assert.equal(configFormat('/x/prod.json', { app: 'a.js', workers: 2 }), 'qilin');
  });

  test('reads every key with its qilin-daemon meaning: milliseconds, exec always watched, admin keys kept', () => {
    const p = plan('/srv/app/qilin-daemon.json', sample);
    assert.equal(p.app, '/srv/app/app.js');
    assert.equal(p.options.workers, 3);
    assert.equal(p.options.timeout, 5_000, 'worker_disconnect_timeout is milliseconds');
    assert.equal(p.options.silent, false);
    assert.deepEqual(p.options.watch?.paths, ['/srv/app/libs', '/srv/app/routes', '/srv/app/config/config.json', '/srv/app/app.js']);
    assert.equal(p.options.watch?.delay, 2_000, 'reload_delay is milliseconds');
    assert.equal(p.pidFile, '/srv/app/qilin.pid');
    assert.equal(p.psName, 'my-app');
    assert.deepEqual(p.admin, { listen: '0.0.0.0:9999', username: 'admin', password: 'secret' }, 'with credentials, every interface, as qilin-daemon');
    assert.deepEqual(p.notes, []);
  });

  test('daemon_port without credentials opens 127.0.0.1 only, with a note; QILIN_ADMIN_PASSWORD completes auth_username', () => {
    const open = plan('/srv/app/qilin-daemon.json', { exec: 'app.js', daemon_port: 9999 });
    assert.deepEqual(open.admin, { listen: 9999 });
    assert.deepEqual(open.options.admin?.listen, { kind: 'tcp', host: '127.0.0.1', port: 9999 });
    assert.equal(open.notes.length, 1);
    assert.match(open.notes[0] as string, /daemon_port 9999 is opened on 127\.0\.0\.1 only/);

    const env = plan('/srv/app/qilin-daemon.json', { exec: 'app.js', daemon_port: 9999, auth_username: 'ops' }, { QILIN_ADMIN_PASSWORD: 'from-env' });
    assert.deepEqual(env.admin, { listen: '0.0.0.0:9999', username: 'ops', password: 'from-env' });

    const unused = plan('/srv/app/qilin-daemon.json', { exec: 'app.js', auth_username: 'ops', auth_password: 'pw' });
    assert.equal(unused.admin, null);
    assert.match(unused.notes.join('\n'), /auth_username and auth_password are not used without daemon_port/);
  });

  test("missing keys take qilin-daemon's defaults: 1 worker, 5 s timeout, 5 s quiet period, exec watched", () => {
    const p = plan('/srv/app/qilin-daemon.json', { exec: 'app.js' });
    assert.equal(p.options.workers, 1);
    assert.equal(p.options.timeout, 5_000);
    assert.deepEqual(p.options.watch?.paths, ['/srv/app/app.js']);
    assert.equal(p.options.watch?.delay, 5_000);
    assert.equal(p.admin, null);
  });

  test('errors name the qilin-daemon key', () => {
    configError(() => readConfig('/srv/qilin-daemon.json', { workers: 2 }), /`exec` \(the app to run\) is required/);
    configError(() => readConfig('/srv/qilin-daemon.json', { exec: 'a.js', reload_dealy: 1 }), /unknown key `reload_dealy` \(qilin-daemon\.json format\)/);
    configError(() => readConfig('/srv/qilin-daemon.json', { exec: 'a.js', reload_delay: -5 }), /`reload_delay` to be milliseconds as a number/);
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', reload_delay: 'soon' }),
      /^Expected `reload_delay` in \/srv\/qilin-daemon\.json to be a duration/,
    );
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', daemon_port: 'x' }),
      /^Expected `daemon_port` in \/srv\/qilin-daemon\.json to be a port number \(0-65535\)/,
    );
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', daemon_port: 9000, auth_username: 'u' }),
      /^Expected `auth_password` in \/srv\/qilin-daemon\.json to be a non-empty string when `auth_username` is set \(or QILIN_ADMIN_PASSWORD\)/,
    );
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', daemon_port: 9000, auth_username: 'a:b', auth_password: 'p' }),
      /^Expected `auth_username` in \/srv\/qilin-daemon\.json to be a non-empty string without ':'/,
    );
    configError(() => plan('/srv/qilin-daemon.json', { exec: 'a.js', workers: -2 }), /^Expected `workers` in \/srv\/qilin-daemon\.json/);
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', workers: 1e20 }),
      /^Expected `workers` in \/srv\/qilin-daemon\.json to be an integer from 1 to 1024/,
    );
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', workers: '3' }),
      /^Expected `workers` in \/srv\/qilin-daemon\.json to be an integer from 1 to 1024/,
    );
    // The number as written, in qilin-daemon's unit: not the `'1e+30ms'` the library would have been given.
    configError(
      () => readConfig('/srv/qilin-daemon.json', { exec: 'a.js', reload_delay: 1e30 }),
      /^\/srv\/qilin-daemon\.json: expected `reload_delay` to be milliseconds as a number \(qilin-daemon's unit\) of at most 2147483647 .*got `1e\+30` \(number\)$/,
    );
    configError(
      () => readConfig('/srv/qilin-daemon.json', { exec: 'a.js', worker_disconnect_timeout: 2 ** 31 }),
      /`worker_disconnect_timeout` to be milliseconds as a number \(qilin-daemon's unit\) of at most/,
    );
    configError(() => readConfig('/srv/qilin-daemon.json', { exec: 'a.js', reload_delay: '5' }), /`reload_delay` to be milliseconds as a number/);
    configError(
      () => plan('/srv/qilin-daemon.json', { exec: 'a.js', daemon_port: 65536 }),
      /^Expected `daemon_port` in \/srv\/qilin-daemon\.json to be a port number/,
    );
    // A tiny number is a valid count of milliseconds, not a number `ms` cannot read (`'1e-9ms'`).
    assert.equal(plan('/srv/qilin-daemon.json', { exec: 'a.js', reload_delay: 1e-9 }).options.watch?.delay, 0);
    configError(() => plan('/srv/qilin-daemon.json', { exec: 'a.js', args: 'x' }), /^Expected `args` in \/srv\/qilin-daemon\.json to be an array of strings/);
  });
});

describe('finding and loading config files', () => {
  test('qilin.config.json or qilin-daemon.json in the working directory; both is an error; --config must exist', (t) => {
    const dir = tempDir(t);
    assert.equal(findConfigFile(dir, undefined), null);
    writeFileSync(path.join(dir, 'qilin-daemon.json'), '{"exec":"a.js"}');
    assert.equal(findConfigFile(dir, undefined), path.join(dir, 'qilin-daemon.json'));
    writeFileSync(path.join(dir, 'qilin.config.json'), '{}');
    configError(() => findConfigFile(dir, undefined), /Both .* exist: choose one with `--config <file>`/);
    assert.equal(findConfigFile(dir, 'qilin.config.json'), path.join(dir, 'qilin.config.json'));
    configError(() => findConfigFile(dir, 'nope.json'), /Config file not found: .*nope\.json/);
  });

  test('loads .json, .mjs and .js files; a broken file is a config error naming it', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'a.json'), '{"app":"server.js","workers":2}');
    writeFileSync(path.join(dir, 'b.mjs'), 'export default { app: "server.js", workers: 3 };');
    writeFileSync(path.join(dir, 'c.js'), 'module.exports = async () => ({ app: "server.js", workers: 4 });');
    writeFileSync(path.join(dir, 'broken.json'), '{"app": ');
    assert.equal((await loadConfigFile(path.join(dir, 'a.json'))).settings.workers, 2);
    assert.equal((await loadConfigFile(path.join(dir, 'b.mjs'))).settings.workers, 3);
    assert.equal((await loadConfigFile(path.join(dir, 'c.js'))).settings.workers, 4);
    assert.equal((await loadConfigFile(path.join(dir, 'a.json'))).settings.app, path.join(dir, 'server.js'));
    await assert.rejects(loadConfigFile(path.join(dir, 'broken.json')), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.match(error.message, /broken\.json: cannot read it:/);
      return true;
    });
    await assert.rejects(loadConfigFile(path.join(dir, 'x.yaml')), /expected a \.json, \.js or \.mjs file/);
  });
});

describe('a wrong number in a config file, to the real command', () => {
  test('exits 2 naming the key and the file, before anything forks', { timeout: 30_000 }, async (t) => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['qilin.config.json', { app: 'app.js', maxMemory: '512' }, /Expected `maxMemory` in .*qilin\.config\.json to be a size/],
      ['qilin.config.json', { app: 'app.js', workers: 1e20 }, /Expected `workers` in .*qilin\.config\.json to be an integer from 1 to 1024/],
      ['qilin-daemon.json', { exec: 'app.js', reload_delay: 1e30 }, /qilin-daemon\.json: expected `reload_delay` to be milliseconds .* of at most 2147483647/],
    ];
    await Promise.all(
      cases.map(async ([name, config, message]) => {
        const dir = tempDir(t);
        writeFileSync(path.join(dir, 'app.js'), "require('node:http').createServer((q, s) => s.end()).listen(0);\n");
        writeFileSync(path.join(dir, name), JSON.stringify(config));
        const qilin = await runQilin(t, ['--log-format', 'json'], { cwd: dir });
        assert.deepEqual(qilin.exit, { code: 2, signal: null }, `${name} ${JSON.stringify(config)}: ${qilin.stderr}`);
        assert.match(qilin.stderr, message);
        assert.equal(qilin.count('fork'), 0);
      }),
    );
  });
});
