// `qilin --watch`: a change reloads once after the quiet period; a burst of changes reloads once; ignored paths do not reload.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import { type LogRecord, appInTempDir, freePort, get, parseIdentity, startQilin, within, writeApp } from './helpers.js';

const TIMEOUT = { timeout: 30_000 };
const DELAY = 400;


const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Watches a `dist` folder (holding index.js with `content`, or empty when null), removes it, waits for that
 * reload, makes it again with a new index.js and waits for the next: the log records from the second part.
 */
async function removeAndWriteAgain(t: TestContext, content: string | null): Promise<{ build: string; changed: LogRecord[] }> {
  const { dir, app } = appInTempDir(t);
  const build = path.join(dir, 'dist');
  mkdirSync(build);
  if (content !== null) writeFileSync(path.join(build, 'index.js'), content);
  const port = await freePort();
  const qilin = startQilin(t, ['-w', '1', '--log-format', 'json', '--watch', build, '--watch-delay', `${DELAY}ms`, '--env', `PORT=${port}`, app]);
  await qilin.waitFor('started');
  await qilin.waitFor('watching');
  rmSync(build, { recursive: true });
  await qilin.waitFor('reloadEnd');
  const after = qilin.records.length;
  mkdirSync(build);
  writeFileSync(path.join(build, 'index.js'), 'module.exports = 2;\n');
  await qilin.waitFor('reloadEnd', () => true, 10_000, after);
  return { build, changed: qilin.records.slice(after) };
}

describe('qilin --watch', () => {
  test('a file change reloads once, after the quiet period, and serves the new code', TIMEOUT, async (t) => {
    const { dir, app } = appInTempDir(t);
    const port = await freePort();
    const qilin = startQilin(t, ['-w', '2', '--log-format', 'json', '--watch', dir, '--watch-delay', `${DELAY}ms`, '--env', `PORT=${port}`, app]);
    await qilin.waitFor('started');
    await qilin.waitFor('watching');

    const changedAt = Date.now();
    writeApp(app, 'v2');
    const start = await qilin.waitFor('reloadStart');
    assert.ok(Date.parse(start.time) - changedAt >= DELAY - 50, `the reload waited for the quiet period (${Date.parse(start.time) - changedAt} ms)`);
    await qilin.waitFor('reloadEnd');
    assert.equal(parseIdentity((await get(port)).body).version, 'v2');
    const changed = qilin.records.filter((r) => r.event === 'filesChanged');
    assert.equal(changed.length, 1);
    assert.deepEqual(changed[0]?.files, [app]);
    // Nothing else is pending: no second reload comes after another quiet period.
    await pause(DELAY * 2);
    assert.equal(qilin.count('reloadStart'), 1);
  });

  test('a watched folder that a build removes and writes again (rm -rf dist && tsc) is still watched', TIMEOUT, async (t) => {
    const { build, changed } = await removeAndWriteAgain(t, 'module.exports = 1;\n');
    const first = changed.find((r) => r.event === 'filesChanged');
    assert.ok((first?.files as string[]).includes(path.join(build, 'index.js')), JSON.stringify(first));
  });

  test('an empty watched folder that is removed and made again is still watched', TIMEOUT, async (t) => {
    // chokidar reports nothing for this removal; the removal reloads, as a folder with files in it does.
    const { build, changed } = await removeAndWriteAgain(t, null);
    const all = changed.filter((r) => r.event === 'filesChanged');
    assert.ok(all.some((r) => (r.files as string[]).includes(path.join(build, 'index.js'))), JSON.stringify(all));
  });

  test('a burst of changes to many files reloads once; changes under node_modules and dot-folders do not reload', TIMEOUT, async (t) => {
    const { dir, app } = appInTempDir(t);
    mkdirSync(path.join(dir, 'lib'));
    mkdirSync(path.join(dir, 'node_modules'));
    mkdirSync(path.join(dir, '.cache'));
    mkdirSync(path.join(dir, 'logs'));
    const port = await freePort();
    const qilin = startQilin(t, [
      '-w', '1', '--log-format', 'json', '--watch', dir, '--watch-delay', `${DELAY}ms`, '--ignore', 'logs', '--env', `PORT=${port}`, app,
    ]);
    await qilin.waitFor('started');
    await qilin.waitFor('watching');

    // Twenty saves in quick succession, as an editor's "save all" or a build does: one burst.
    for (let i = 0; i < 20; i += 1) {
      writeFileSync(path.join(dir, 'lib', `module-${i}.js`), `module.exports = ${i};\n`);
    }
    await qilin.waitFor('reloadEnd');
    const changed = qilin.records.find((r) => r.event === 'filesChanged');
    assert.equal((changed?.files as string[]).length, 20);
    await pause(DELAY * 2);
    assert.equal(qilin.count('reloadStart'), 1, 'one reload for the burst');

    // Ignored paths: node_modules and dot-folders by default, `logs` by --ignore.
    writeFileSync(path.join(dir, 'node_modules', 'dep.js'), '1');
    writeFileSync(path.join(dir, '.cache', 'entry'), '1');
    writeFileSync(path.join(dir, 'logs', 'app.log'), '1');
    writeFileSync(path.join(dir, '.app.cjs.swp'), '1');
    await pause(DELAY * 3);
    assert.equal(qilin.count('filesChanged'), 1, 'ignored paths caused no reload');
    assert.equal(qilin.count('reloadStart'), 1);

    // A watched file after that still reloads: the watcher is alive.
    writeFileSync(path.join(dir, 'lib', 'module-0.js'), 'module.exports = 100;\n');
    await qilin.waitFor('reloadStart', () => true, 10_000, qilin.records.findIndex((r) => r.event === 'reloadEnd') + 1);
    qilin.signal('SIGTERM');
    assert.equal((await within(15_000, 'qilin to exit', qilin.exited)).code, 0);
  });
});
