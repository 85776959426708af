// The programmatic side: the original qilin's `new Qilin({ exec, args, silent }, { workers }).start(cb)`, and `recluster(file, { watch })`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Qilin, recluster } from 'qilin';
import { warningsDuring } from '../warnings.js';
import { fixture, freePort, get, parseIdentity, tempDir, within } from './helpers.js';

const TIMEOUT = { timeout: 20_000 };

describe('Qilin', () => {
  test('start(cb) calls back once every worker is ready; a second start is an error; shutdown(cb) stops them', TIMEOUT, async (t) => {
    const port = await freePort();
    const qilin = new Qilin({ exec: fixture('identity-server.cjs'), args: [], silent: false }, { workers: 2, env: { PORT: String(port) }, log: false });
    t.after(() => qilin.cluster.terminate());
    const started = await within(10_000, 'start(cb) to call back', new Promise<Error | null>((resolve) => qilin.start(resolve)));
    assert.equal(started, null);
    assert.equal(qilin.running(), true);
    assert.equal(qilin.cluster.activeWorkers().filter(Boolean).length, 2);
    assert.equal(parseIdentity((await get(port)).body).version, 'v1');
    const again = await new Promise<Error | null>((resolve) => qilin.start(resolve));
    assert.match(String(again?.message), /started already/);
    const stopped = await within(10_000, 'shutdown(cb) to call back', new Promise<Error | null>((resolve) => qilin.shutdown(resolve)));
    assert.equal(stopped, null);
    assert.equal(qilin.cluster.workers().length, 0);
    assert.equal(qilin.running(), false);
    // Started again after the shutdown: an error, not a success with no worker running.
    const restarted = await within(10_000, 'start(cb) to call back', new Promise<Error | null>((resolve) => qilin.start(resolve)));
    assert.equal((restarted as { code?: string } | null)?.code, 'ERR_QILIN_SHUTTING_DOWN');
    assert.equal(qilin.cluster.workers().length, 0);
  });

  test('unknown keys in either argument are named in a warning, and ignored', async () => {
    const warnings = await warningsDuring(() => {
      new Qilin({ exec: 'a.js', uid: 0 } as never);
      new Qilin({ exec: 'a.js' }, { wokers: 2 } as never);
      recluster('a.js', { watch: { paths: 'src', every: 1 } as never });
    });
    assert.deepEqual(
      warnings.map((w) => w.message),
      [
        'Unknown option `uid` is ignored; known options: exec, args, silent, execArgv, cwd',
        'Unknown option `wokers` is ignored; did you mean `workers`?',
        'Unknown option `watch.every` is ignored; known options: paths, delay, ignore, extensions',
      ],
    );
  });
});

describe('recluster(file, { watch })', () => {
  test('validates the watch option', () => {
    assert.throws(() => recluster('a.js', { watch: [] }), /Expected `watch\.paths` to be one or more non-empty paths/);
    assert.throws(() => recluster('a.js', { watch: { paths: 'src', delay: 'x' } }), /Expected `watch\.delay` to be a duration/);
    assert.throws(() => recluster('a.js', { watch: 3 as never }), /Expected `watch` to be an object/);
  });

  test('reloads once after a burst of changes to a watched folder', TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const app = path.join(dir, 'app.cjs');
    const source = readFileSync(fixture('identity-server.cjs'), 'utf8');
    writeFileSync(app, source);
    const port = await freePort();
    const cluster = recluster(app, { workers: 1, env: { PORT: String(port) }, log: false, watch: { paths: dir, delay: '300ms' } });
    t.after(() => cluster.terminate());
    let reloads = 0;
    cluster.on('reloadStart', () => (reloads += 1));
    await within(10_000, 'the cluster to start', cluster.run());
    // Handshake with the watcher, which starts with run(): touch the app until a first reload shows it is watching.
    const firstReload = new Promise((resolve) => cluster.once('reloadEnd', resolve));
    let watching = false;
    cluster.once('reloadStart', () => (watching = true));
    await within(
      10_000,
      'the watcher to see a change',
      (async () => {
        while (!watching) {
          writeFileSync(app, source);
          // Longer than the quiet period, or the changes would keep postponing the reload.
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      })(),
    );
    await within(10_000, 'the first reload to end', firstReload);
    await new Promise((resolve) => setTimeout(resolve, 600));
    reloads = 0;
    for (let i = 2; i <= 6; i += 1) {
      writeFileSync(app, source.replace("'v1'", `'v${i}'`));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await within(10_000, 'the reload', new Promise((resolve) => cluster.once('reloadEnd', resolve)));
    assert.equal(parseIdentity((await get(port)).body).version, 'v6');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(reloads, 1);
    await within(10_000, 'shutdown', cluster.shutdown());
  });
});
