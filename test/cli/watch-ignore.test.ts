// The file watcher's pure parts: ignore globs and default ignores, and the quiet period that turns a burst into one reload.
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { QuietPeriod } from '../../src/watch.js';
import { DEFAULT_IGNORE } from '../../src/options.js';
import { ignoreMatcher } from '../../src/watch-ignore.js';

describe('ignoreMatcher', () => {
  const ignored = ignoreMatcher(['/srv/app', '/srv/app/node_modules/local-lib/index.js'], [...DEFAULT_IGNORE, 'logs', 'dist/**', '*.tmp']);

  test('ignores node_modules and dot-entries below a watched root, at any depth', () => {
    assert.equal(ignored('/srv/app/node_modules/x/index.js'), true);
    assert.equal(ignored('/srv/app/lib/node_modules/x.js'), true);
    assert.equal(ignored('/srv/app/.git/HEAD'), true);
    assert.equal(ignored('/srv/app/.server.js.swp'), true);
    assert.equal(ignored('/srv/app/lib/.cache/a'), true);
  });

  test('ignores --ignore globs: a name anywhere, or a path from the root', () => {
    assert.equal(ignored('/srv/app/logs/today.log'), true);
    assert.equal(ignored('/srv/app/lib/logs'), true);
    assert.equal(ignored('/srv/app/dist/bundle.js'), true);
    assert.equal(ignored('/srv/app/lib/dist/bundle.js'), false);
    assert.equal(ignored('/srv/app/a.tmp'), true);
  });

  test('reads globs the usual way: classes, alternatives, single characters, ** across folders', () => {
    const globs = ignoreMatcher(['/srv/app'], ['*.{swp,tmp}', 'file?.js', '[ab].txt', 'gen/**/*.map']);
    assert.equal(globs('/srv/app/x.swp'), true);
    assert.equal(globs('/srv/app/x.css'), false);
    assert.equal(globs('/srv/app/file1.js'), true);
    assert.equal(globs('/srv/app/file10.js'), false);
    assert.equal(globs('/srv/app/b.txt'), true);
    assert.equal(globs('/srv/app/c.txt'), false);
    assert.equal(globs('/srv/app/gen/a/b/c.js.map'), true);
    assert.equal(globs('/srv/app/gen/c.js'), false);
  });

  test('keeps everything else, and a watched root itself, even one the defaults would ignore', () => {
    assert.equal(ignored('/srv/app/server.js'), false);
    assert.equal(ignored('/srv/app/lib/db.js'), false);
    assert.equal(ignored('/srv/app'), false);
    assert.equal(ignored('/srv/app/node_modules/local-lib/index.js'), false);
    assert.equal(ignored('/srv/application/.x'), false, 'a sibling with the same prefix is not under the root');
  });
});

describe('QuietPeriod', () => {
  test('fires once, delay after the last change, with every changed file once', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const fired: (readonly string[])[] = [];
      const quiet = new QuietPeriod(500, (files) => fired.push(files));
      quiet.touch('a.js');
      mock.timers.tick(400);
      quiet.touch('b.js');
      mock.timers.tick(400);
      quiet.touch('a.js');
      mock.timers.tick(499);
      assert.deepEqual(fired, [], 'nothing while changes keep coming');
      assert.equal(quiet.pending, true);
      mock.timers.tick(1);
      assert.deepEqual(fired, [['a.js', 'b.js']]);
      assert.equal(quiet.pending, false);
      quiet.touch('c.js');
      mock.timers.tick(500);
      assert.deepEqual(fired, [['a.js', 'b.js'], ['c.js']]);
      quiet.touch('d.js');
      quiet.cancel();
      mock.timers.tick(1000);
      assert.equal(fired.length, 2, 'cancel drops pending changes');
    } finally {
      mock.timers.reset();
    }
  });
});
