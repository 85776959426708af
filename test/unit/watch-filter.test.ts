// Which changes the file watcher counts: the extension filter, log files, a watched path named explicitly, and the primary's own output by device and inode.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_WATCH_EXTENSIONS } from '../../src/options.js';
import { type FileStats, changeMatcher, isLogFile, isOutputFile, outputFiles } from '../../src/watch-filter.js';

const file = false;
const folder = true;

describe('changeMatcher', () => {
  test('by default, code and config files count; logs, text, templates, styles and folders do not', () => {
    const counts = changeMatcher(['/srv/app'], DEFAULT_WATCH_EXTENSIONS);
    for (const name of ['server.js', 'lib/db.mjs', 'a.cjs', 'view.jsx', 'src/index.ts', 'a.mts', 'a.cts', 'App.tsx', 'package.json']) {
      assert.equal(counts(`/srv/app/${name}`, file), true, name);
    }
    for (const name of ['config/app.json5', 'config/app.yaml', 'app.yml', 'Cargo.toml', 'UPPER.JS']) {
      assert.equal(counts(`/srv/app/${name}`, file), true, name);
    }
    for (const name of [
      'app.log',
      'notes.txt',
      'README.md',
      'views/index.hbs',
      'public/site.css',
      'index.html',
      'data.sqlite',
      'Makefile',
      'a.json.bak',
      'a.js~',
    ]) {
      assert.equal(counts(`/srv/app/${name}`, file), false, name);
    }
    assert.equal(counts('/srv/app/lib', folder), false, 'a folder below a watched one: its files count, not itself');
  });

  test('a custom list replaces the defaults and matches the end of the name, without regard to case', () => {
    const counts = changeMatcher(['/srv/app'], ['hbs', 'd.ts']);
    assert.equal(counts('/srv/app/views/index.hbs', file), true);
    assert.equal(counts('/srv/app/views/INDEX.HBS', file), true);
    assert.equal(counts('/srv/app/types/api.d.ts', file), true);
    assert.equal(counts('/srv/app/src/api.ts', file), false, 'js and ts are no longer counted once the list is given');
    assert.equal(counts('/srv/app/server.js', file), false);
    assert.equal(counts('/srv/app/views/hbs', file), false, 'a name that only ends in the letters is not that extension');
  });

  test("null ('*') counts every file and folder, except log files", () => {
    const counts = changeMatcher(['/srv/app'], null);
    assert.equal(counts('/srv/app/notes.txt', file), true);
    assert.equal(counts('/srv/app/Makefile', file), true);
    assert.equal(counts('/srv/app/lib', folder), true);
    for (const name of ['app.log', 'logs/npm-debug.log', 'app.log.1', 'app.log.2.gz', 'app.log-20240501', 'APP.LOG']) {
      assert.equal(counts(`/srv/app/${name}`, file), false, name);
    }
  });

  test('a watched path itself always counts: a file named explicitly whatever its extension, a watched folder', () => {
    const counts = changeMatcher(['/srv/app/src', '/srv/app/.env', '/srv/app/views/layout.hbs', '/srv/app/debug.log'], DEFAULT_WATCH_EXTENSIONS);
    assert.equal(counts('/srv/app/.env', file), true);
    assert.equal(counts('/srv/app/views/layout.hbs', file), true);
    assert.equal(counts('/srv/app/debug.log', file), true, 'named explicitly, even a log file');
    assert.equal(counts('/srv/app/src', folder), true, 'a watched folder removed or made again');
    assert.equal(counts('/srv/app/views/other.hbs', file), false, 'only the named file, not its neighbours');
  });
});

describe('isLogFile', () => {
  test('knows log files and rotated ones by name, and nothing else', () => {
    for (const name of ['app.log', '/var/x/err.LOG', 'app.log.1', 'app.log.10.gz', 'app.log.2024-05-01', 'app.log-20240501.xz']) {
      assert.equal(isLogFile(name), true, name);
    }
    for (const name of ['console.log.js', 'catalog.json', 'blog', 'log', 'logs.ts', 'app.logic', 'changelog.md']) {
      assert.equal(isLogFile(name), false, name);
    }
  });
});

describe("the primary's own output", () => {
  const stats = (dev: bigint, ino: bigint, regular = true): FileStats => ({ dev, ino, isFile: () => regular });

  test('only regular files count as output files (not a terminal, a pipe, /dev/null or a closed fd)', () => {
    assert.deepEqual(outputFiles([stats(1n, 10n), stats(1n, 11n, false), undefined]), [{ dev: 1n, ino: 10n }]);
    assert.deepEqual(outputFiles([undefined, undefined]), []);
  });

  test('a changed file is one of them when device and inode are the same, whatever its name', () => {
    const outputs = outputFiles([stats(1n, 10n), stats(2n, 20n)]);
    assert.equal(isOutputFile({ dev: 1n, ino: 10n }, outputs), true);
    assert.equal(isOutputFile({ dev: 2n, ino: 20n }, outputs), true);
    assert.equal(isOutputFile({ dev: 1n, ino: 20n }, outputs), false, 'the same inode on another device is another file');
    assert.equal(isOutputFile({ dev: 3n, ino: 10n }, outputs), false);
    assert.equal(isOutputFile({ dev: 1n, ino: 10n }, []), false, 'no output files: nothing is one');
  });
});
