import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InvalidOptionError, QilinError } from '../../src/errors.js';
import { RELOAD_OPTIONS } from '../../src/option-table.js';
import { type ClusterOptions, DEFAULT_WATCH_EXTENSIONS, KNOWN_OPTIONS, resolveChanges, resolveFile, resolveOptions } from '../../src/options.js';
import { warningsDuring } from '../warnings.js';

function rejects(options: unknown, option: string, pattern: RegExp): void {
  assert.throws(
    () => resolveOptions(options as ClusterOptions),
    (error: unknown) => {
      assert.ok(error instanceof TypeError, 'a TypeError');
      assert.ok(error instanceof InvalidOptionError);
      assert.ok(error instanceof QilinError, 'a QilinError by its code');
      assert.equal(error.code, 'ERR_QILIN_INVALID_OPTION');
      assert.equal(error.option, option);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('options', () => {
  it("defaults to recluster's values", () => {
    const o = resolveOptions({}, {});
    assert.equal(o.workers, availableParallelism());
    assert.equal(o.timeout, 1_000);
    assert.equal(o.respawn, 1_000);
    assert.equal(o.backoff, 0);
    assert.equal(o.readyWhen, 'listening');
    assert.deepEqual(o.args, []);
    assert.deepEqual(o.execArgv, []);
    assert.deepEqual(o.log, { respawns: true, reloads: true, warnings: true });
    assert.equal(o.logger, console);
    assert.equal(o.readyTimeout, 30_000);
    assert.equal(o.killTimeout, 5_000);
    assert.equal(o.strategy, 'all');
    assert.equal(o.heartbeatTimeout, 30_000);
    assert.equal(o.maxMemory, null);
    assert.equal(o.runtime, true);
  });

  it('waits an hour for retiring workers in production, as recluster does', () => {
    assert.equal(resolveOptions({}, { NODE_ENV: 'production' }).timeout, 3_600_000);
  });

  it('reads a number as seconds and a string with ms', () => {
    const o = resolveOptions({ timeout: 2.5, respawn: '250ms', backoff: '1m', killTimeout: '1h', readyTimeout: '30s' });
    assert.equal(o.timeout, 2_500);
    assert.equal(o.respawn, 250);
    assert.equal(o.backoff, 60_000);
    assert.equal(o.killTimeout, 3_600_000);
    assert.equal(o.readyTimeout, 30_000);
  });

  it('takes an explicit 0 as 0', () => {
    const o = resolveOptions({ timeout: 0, respawn: 0, backoff: 0, killTimeout: 0 });
    assert.equal(o.timeout, 0);
    assert.equal(o.respawn, 0);
    assert.equal(o.killTimeout, 0);
  });

  it('reads `workers: 0` as one per CPU, as recluster did (`opt.workers || numCPUs`)', () => {
    assert.equal(resolveOptions({ workers: 0 }).workers, availableParallelism());
  });

  it('caps `workers` at 1024, by name, rather than forking until the primary runs out of memory', () => {
    assert.equal(resolveOptions({ workers: 1024 }).workers, 1024);
    rejects({ workers: 1025 }, 'workers', /^Expected `workers` to be an integer from 0 to 1024 \(0: one per CPU\), got `1025` \(number\)$/);
    rejects({ workers: 1e6 }, 'workers', /got `1000000` \(number\)/);
    rejects({ workers: Infinity }, 'workers', /from 0 to 1024/);
  });

  it('turns optional limits off with false', () => {
    const o = resolveOptions({ readyTimeout: false, heartbeatTimeout: false, maxMemory: false, log: false });
    assert.equal(o.readyTimeout, null);
    assert.equal(o.heartbeatTimeout, null);
    assert.equal(o.maxMemory, null);
    assert.deepEqual(o.log, { respawns: false, reloads: false, warnings: false });
  });

  it('reads memory sizes with units', () => {
    assert.equal(resolveOptions({ maxMemory: '512MB' }).maxMemory, 512 * 1024 ** 2);
    assert.equal(resolveOptions({ maxMemory: 1e9 }).maxMemory, 1e9);
  });

  it("refuses a memory size given as a string without a unit: '512' is not 512 MB", () => {
    rejects(
      { maxMemory: '512' },
      'maxMemory',
      /^Expected `maxMemory` to be a size: a whole number of bytes above zero, or a string with a unit such as '512MB' or '1GB', or false, got `"512"` \(string\)$/,
    );
    rejects({ maxMemory: 0.5 }, 'maxMemory', /got `0.5` \(number\)/);
  });

  it('names the option, what was expected and what was given', () => {
    rejects({ workers: -1 }, 'workers', /^Expected `workers` to be an integer from 0 to 1024 \(0: one per CPU\), got `-1` \(number\)$/);
    rejects({ workers: 1.5 }, 'workers', /got `1.5` \(number\)/);
    rejects({ workers: '4' }, 'workers', /got `"4"` \(string\)/);
    rejects({ timeout: -1 }, 'timeout', /a duration/);
    rejects({ timeout: 'soon' }, 'timeout', /got `"soon"` \(string\)/);
    rejects({ readyWhen: 'online' }, 'readyWhen', /one of 'listening', 'started', 'ready'/);
    rejects({ args: ['a', 1] }, 'args[1]', /a string/);
    rejects({ execArgv: '--inspect' }, 'execArgv', /an array of strings/);
    rejects({ log: { respawns: 'yes' } }, 'log.respawns', /a boolean/);
    rejects({ logger: {} }, 'logger', /a `log` method/);
    rejects({ env: { A: 1 } }, 'env.A', /a string/);
    rejects({ serialization: 'v8' }, 'serialization', /'json', 'advanced'/);
    rejects({ strategy: 'canary' }, 'strategy', /'all', 'rolling'/);
    rejects({ batch: 0 }, 'batch', /at least 1/);
    rejects({ maxMemory: '12 parsecs' }, 'maxMemory', /a size/);
  });

  it('refuses a unitless duration string rather than reading it as milliseconds', () => {
    rejects({ timeout: '30' }, 'timeout', /a string with a unit/);
  });

  it('refuses a duration longer than a timer can wait, rather than firing it at once', () => {
    rejects({ timeout: '30d' }, 'timeout', /at most 2147483647 ms/);
    rejects({ readyTimeout: 25 * 24 * 3600 }, 'readyTimeout', /at most 2147483647 ms/);
    assert.equal(resolveOptions({ timeout: '24d' }).timeout, 24 * 24 * 3600 * 1000);
  });

  it('refuses 0 where it cannot mean anything, and says to use false', () => {
    rejects({ readyTimeout: 0 }, 'readyTimeout', /above zero.*or false/);
    rejects({ heartbeatTimeout: 0 }, 'heartbeatTimeout', /or false/);
  });

  it('ignores unknown keys with one warning each, naming them and the closest known option', async () => {
    const warnings = await warningsDuring(() => {
      assert.equal(resolveOptions({ wrokers: 2 } as ClusterOptions).workers, availableParallelism());
      resolveOptions({ wrokers: 3 } as ClusterOptions);
      resolveOptions({ log: { respawn: false } } as unknown as ClusterOptions);
      resolveOptions({ file: 'app.js', ready_timeout: 5 } as ClusterOptions);
    });
    assert.deepEqual(
      warnings.map((w) => [w.name, w.code, w.message]),
      [
        ['QilinWarning', 'QILIN_UNKNOWN_OPTION', 'Unknown option `wrokers` is ignored; did you mean `workers`?'],
        ['QilinWarning', 'QILIN_UNKNOWN_OPTION', 'Unknown option `log.respawn` is ignored; did you mean `log.respawns`?'],
        [
          'QilinWarning',
          'QILIN_UNKNOWN_OPTION',
          'Unknown option `file` is ignored; known options: workers, readyWhen, readyTimeout, timeout, killTimeout, respawn, backoff, strategy, batch, canary, canaryErrorRate, balance, rebalance, leanPrimary, shutdownDelay, execArgv, env, cwd, silent, args, serialization, runtime, heartbeatTimeout, maxMemory, log, logger, watch, admin',
        ],
        ['QilinWarning', 'QILIN_UNKNOWN_OPTION', 'Unknown option `ready_timeout` is ignored; did you mean `readyTimeout`?'],
      ],
    );
    // A wrong value for a known key is still an error.
    rejects({ wrokers: 2, workers: -1 }, 'workers', /an integer from 0 to 1024/);
  });

  it('refuses runtime features without the runtime', () => {
    rejects({ runtime: false, heartbeatTimeout: '5s' }, 'heartbeatTimeout', /`runtime` is false/);
    rejects({ runtime: false, maxMemory: '1GB' }, 'maxMemory', /`runtime` is false/);
    rejects({ runtime: false, balance: 'sticky' }, 'balance', /'kernel' or 'round-robin' when `runtime` is false/);
    rejects({ runtime: false, balance: 'reuseport' }, 'balance', /'kernel' or 'round-robin' when `runtime` is false/);
    rejects({ balance: 'reuse-port' }, 'balance', /one of 'kernel', 'reuseport', 'round-robin', 'sticky'/);
    rejects({ runtime: false, rebalance: true }, 'rebalance', /false when `runtime` is false/);
    rejects({ rebalance: 'yes' }, 'rebalance', /a boolean/);
    assert.equal(resolveOptions({ runtime: false }).rebalance, false);
    assert.equal(resolveOptions({}).rebalance, true);
    assert.equal(resolveOptions({ balance: 'sticky' }).balance, 'sticky');
    assert.equal(resolveOptions({ balance: 'reuseport' }).balance, 'reuseport');
    assert.equal(resolveOptions({ runtime: false }).heartbeatTimeout, null);
  });

  it('balances with a socket per slot by default on Linux, the shared socket without the runtime or elsewhere, or as NODE_CLUSTER_SCHED_POLICY says', () => {
    assert.equal(resolveOptions({}, {}).balance, process.platform === 'linux' ? 'reuseport' : 'kernel');
    assert.equal(resolveOptions({ runtime: false }, {}).balance, 'kernel');
    assert.equal(resolveOptions({}, { NODE_CLUSTER_SCHED_POLICY: 'none' }).balance, 'kernel');
    assert.equal(resolveOptions({}, { NODE_CLUSTER_SCHED_POLICY: 'rr' }).balance, 'round-robin');
    assert.equal(resolveOptions({ balance: 'kernel' }, {}).balance, 'kernel');
  });

  it('makes the primary lean unless leanPrimary is false', () => {
    rejects({ leanPrimary: 'no' }, 'leanPrimary', /a boolean/);
    assert.equal(resolveOptions({}).leanPrimary, true);
    assert.equal(resolveOptions({ leanPrimary: false }).leanPrimary, false);
  });

  it("never changes the caller's object, and freezes its own", () => {
    const input = { workers: 2, args: ['--x'], env: { A: 'b' }, log: { respawns: false } };
    const copy = structuredClone(input);
    const o = resolveOptions(input);
    assert.deepEqual(input, copy);
    assert.ok(Object.isFrozen(o) && Object.isFrozen(o.args) && Object.isFrozen(o.env) && Object.isFrozen(o.log));
    assert.notEqual(o.args, input.args);
  });

  it('watch.extensions: the code and config defaults, a list normalized and replacing them, or * for every file', () => {
    const extensionsOf = (extensions: string | readonly string[]) => resolveOptions({ watch: { paths: '.', extensions } }).watch?.extensions;
    const defaults = resolveOptions({ watch: 'src' }).watch?.extensions;
    assert.deepEqual(defaults, DEFAULT_WATCH_EXTENSIONS);
    assert.ok(defaults?.includes('js') && defaults.includes('ts') && defaults.includes('json') && !defaults.includes('log'));
    assert.deepEqual(extensionsOf(['.JS', '*.hbs', ' d.ts ']), ['js', 'hbs', 'd.ts']);
    assert.deepEqual(extensionsOf('vue'), ['vue']);
    assert.equal(extensionsOf('*'), null);
    assert.equal(extensionsOf(['js', '*']), null);
    assert.ok(Object.isFrozen(extensionsOf(['js'])));
    rejects(
      { watch: { paths: '.', extensions: [] } },
      'watch.extensions',
      /^Expected `watch.extensions` to be one or more extensions such as 'js', or '\*' for every file, got an array of 0$/,
    );
    rejects(
      { watch: { paths: '.', extensions: ['js', 'a b'] } },
      'watch.extensions[1]',
      /an extension such as 'js' or '.js', or '\*' for every file, got `"a b"`/,
    );
    rejects({ watch: { paths: '.', extensions: ['js,ts'] } }, 'watch.extensions[0]', /an extension such as 'js'/);
    rejects({ watch: { paths: '.', extensions: ['src/*.js'] } }, 'watch.extensions[0]', /an extension such as 'js'/);
    rejects({ watch: { paths: '.', extensions: 3 } as never }, 'watch.extensions', /an array of strings/);
  });

  it('makes the worker script path absolute and refuses an empty one', () => {
    assert.equal(resolveFile('server.js'), path.resolve('server.js'));
    assert.throws(() => resolveFile(''), /Expected `file` to be the path of the worker script/);
  });
});

describe('resolveChanges: the settings of a reload', () => {
  const base = resolveOptions({ workers: 2, env: { A: '1' }, log: false }, {});

  it('reads each change as resolveOptions does, over the base, which it leaves alone', () => {
    const next = resolveChanges(base, { timeout: '30s', env: { B: '2' }, workers: 3 }, {});
    assert.deepEqual([next.timeout, next.env, next.workers], [30_000, { B: '2' }, 3]);
    assert.equal(next.respawn, base.respawn);
    assert.equal(base.workers, 2);
    assert.ok(Object.isFrozen(next));
  });

  it('refuses a wrong value by name, and an option a reload cannot change', () => {
    assert.throws(
      () => resolveChanges(base, { timeout: 'soon' }, {}),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'timeout',
    );
    for (const key of ['balance', 'runtime', 'heartbeatTimeout', 'watch', 'admin']) {
      assert.throws(
        () => resolveChanges(base, { [key]: 'x' }, {}),
        (error: unknown) => error instanceof InvalidOptionError && error.option === key && /a reload cannot change it/.test(error.message),
      );
    }
  });

  it('every known option but those six is one a reload can change', () => {
    const fixed = ['balance', 'leanPrimary', 'runtime', 'heartbeatTimeout', 'watch', 'admin'];
    assert.deepEqual([...RELOAD_OPTIONS].sort(), KNOWN_OPTIONS.filter((key) => !fixed.includes(key)).sort());
  });

  it('warns of an unknown key and reloads with the rest', async () => {
    const warnings = await warningsDuring(() => resolveChanges(base, { wokers: 3 }, {}));
    assert.match(String(warnings[0]?.message), /`wokers`.*did you mean `workers`/);
  });
});
