// `qilin --watch`: a change reloads once after the quiet period; a burst of changes reloads once; ignored paths, non-code files and the command's own output do not reload.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import { DEFAULT_WATCH_EXTENSIONS } from '../../src/options.js';
import { BIN, type LogRecord, appInTempDir, freePort, get, parseIdentity, startQilin, tempDir, until, within, writeApp } from './helpers.js';

const TIMEOUT = { timeout: 30_000 };
const DELAY = 400;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The JSON log records in a file the command's stdout was sent to. */
function recordsIn(file: string): LogRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{"time"'))
    .map((line) => JSON.parse(line) as LogRecord);
}

/** An app that logs each request it answers, one line to stdout and one to stderr. */
const LOGGING_APP = `const http = require('node:http');
http.createServer((request, response) => {
  console.log('GET ' + request.url + ' 200');
  console.error('warning: slow request ' + request.url);
  response.end('ok');
}).listen(Number(process.env.PORT));
`;

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
    assert.ok(first && (first.files as string[]).includes(path.join(build, 'index.js')), JSON.stringify(first));
  });

  test('an empty watched folder that is removed and made again is still watched', TIMEOUT, async (t) => {
    // chokidar reports nothing for this removal; the removal reloads, as a folder with files in it does.
    const { build, changed } = await removeAndWriteAgain(t, null);
    const all = changed.filter((r) => r.event === 'filesChanged');
    assert.ok(
      all.some((r) => (r.files as string[]).includes(path.join(build, 'index.js'))),
      JSON.stringify(all),
    );
  });

  test('only code and config files count: log and text files written in a watched folder do not reload, a .js file does', TIMEOUT, async (t) => {
    const { dir, app } = appInTempDir(t);
    mkdirSync(path.join(dir, 'logs'));
    const port = await freePort();
    const qilin = startQilin(t, ['-w', '1', '--log-format', 'json', '--watch', dir, '--watch-delay', `${DELAY}ms`, '--env', `PORT=${port}`, app]);
    await qilin.waitFor('started');
    assert.deepEqual((await qilin.waitFor('watching')).extensions, DEFAULT_WATCH_EXTENSIONS);

    // An app writing its logs into its own folder, for longer than the quiet period, then quiet for three of them.
    for (let i = 0; i < 5; i += 1) {
      appendFileSync(path.join(dir, 'app.log'), `request ${i}\n`);
      appendFileSync(path.join(dir, 'logs', 'app.log.1'), `request ${i}\n`);
      writeFileSync(path.join(dir, 'notes.txt'), `note ${i}\n`);
      writeFileSync(path.join(dir, 'index.html'), `<p>${i}</p>\n`);
      await pause(DELAY / 2);
    }
    await pause(DELAY * 3);
    assert.equal(qilin.count('filesChanged'), 0, 'log, text and html files caused no reload');
    assert.equal(qilin.count('reloadStart'), 0);

    // A code file after that reloads: the watcher is alive, and only the .js file is reported.
    writeFileSync(path.join(dir, 'lib.js'), 'module.exports = 1;\n');
    const changed = await qilin.waitFor('filesChanged');
    assert.deepEqual(changed.files, [path.join(dir, 'lib.js')]);
    await qilin.waitFor('reloadEnd');
  });

  test("the command's own stdout and stderr sent into the watched folder never reload it, even with --watch-ext '*'", TIMEOUT, async (t) => {
    const dir = tempDir(t);
    const app = path.join(dir, 'app.cjs');
    writeFileSync(app, LOGGING_APP);
    let outFile = path.join(dir, 'out.txt');
    const out = openSync(outFile, 'a');
    const err = openSync(path.join(dir, 'err.json'), 'a');
    const port = await freePort();
    // As `qilin --watch <dir> --watch-ext '*' app.cjs > <dir>/out.txt 2> <dir>/err.json`: the workers write there too.
    const child = spawn(
      process.execPath,
      [BIN, '-w', '1', '--log-format', 'json', '--watch', dir, '--watch-delay', `${DELAY}ms`, '--watch-ext', '*', '--env', `PORT=${port}`, app],
      { stdio: ['ignore', out, err], env: { ...process.env, NODE_ENV: 'test' } },
    );
    closeSync(out);
    closeSync(err);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const r of recordsIn(outFile)) {
        if (r.event !== 'fork' || typeof r.pid !== 'number') continue;
        try {
          process.kill(r.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await within(5_000, 'the killed qilin to exit', exited).catch(() => {});
    });
    const records = () => recordsIn(outFile);
    const count = (event: string) => records().filter((r) => r.event === event).length;
    await until('qilin to say its workers started and it is watching, in out.txt', () =>
      ['started', 'watching'].every((event) => records().some((r) => r.event === event)),
    );
    assert.equal(records().find((r) => r.event === 'watching')?.extensions, null, "'*': every file counts");

    // The command's log lines and the app's request lines (stdout and stderr) land in the watched folder.
    await get(port);
    await until(
      'the request logged in out.txt and err.json',
      () => readFileSync(outFile, 'utf8').includes('GET / 200') && readFileSync(path.join(dir, 'err.json'), 'utf8').includes('warning: slow request /'),
    );
    await pause(DELAY * 3);
    assert.equal(count('filesChanged'), 0, `its own output caused no reload: ${JSON.stringify(records().filter((r) => r.event === 'filesChanged'))}`);

    // Rotated away, as logrotate does: the removed name and the new one are still the same file, and not a change.
    renameSync(outFile, `${outFile}.1`);
    outFile = `${outFile}.1`;
    await get(port, '/after-rotation');
    await until('the second request logged', () => readFileSync(outFile, 'utf8').includes('GET /after-rotation 200'));
    await pause(DELAY * 3);
    assert.equal(count('filesChanged'), 0, `the rotated output caused no reload: ${JSON.stringify(records().filter((r) => r.event === 'filesChanged'))}`);

    // Any other file counts with '*': the watcher is alive; and the reload's own log lines cause no second one.
    writeFileSync(path.join(dir, 'notes.txt'), 'a note\n');
    await until('a reload for notes.txt', () => records().some((r) => r.event === 'reloadEnd'));
    assert.deepEqual(records().find((r) => r.event === 'filesChanged')?.files, [path.join(dir, 'notes.txt')]);
    await pause(DELAY * 3);
    assert.equal(count('reloadStart'), 1, 'one reload, not one for its own log lines');
    child.kill('SIGTERM');
    assert.equal(await within(15_000, 'qilin to exit', exited), 0);
  });

  test('a burst of changes to many files reloads once; changes under node_modules and dot-folders do not reload', TIMEOUT, async (t) => {
    const { dir, app } = appInTempDir(t);
    mkdirSync(path.join(dir, 'lib'));
    mkdirSync(path.join(dir, 'node_modules'));
    mkdirSync(path.join(dir, '.cache'));
    mkdirSync(path.join(dir, 'logs'));
    const port = await freePort();
    const qilin = startQilin(t, [
      '-w',
      '1',
      '--log-format',
      'json',
      '--watch',
      dir,
      '--watch-delay',
      `${DELAY}ms`,
      '--ignore',
      'logs',
      '--env',
      `PORT=${port}`,
      app,
    ]);
    await qilin.waitFor('started');
    await qilin.waitFor('watching');

    // Twenty saves in quick succession, as an editor's "save all" or a build does: one burst.
    for (let i = 0; i < 20; i += 1) {
      writeFileSync(path.join(dir, 'lib', `module-${i}.js`), `module.exports = ${i};\n`);
    }
    await qilin.waitFor('reloadEnd');
    const changed = qilin.records.find((r) => r.event === 'filesChanged');
    assert.equal((changed?.files as string[] | undefined)?.length, 20);
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
