// PM2's commands and flags on qilin's command line, each answered with the Qilin form.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PM2_COMMANDS, pm2Hint } from '../../src/cli/pm2.js';

describe('pm2Hint', () => {
  test('-i and --instances give the same number as -w', () => {
    assert.equal(pm2Hint(['-i', '2', 'app.js']), "`-i` is PM2's; Qilin's is `-w 2` (`--workers 2`)");
    assert.equal(pm2Hint(['app.js', '--instances', '3']), "`--instances` is PM2's; Qilin's is `-w 3` (`--workers 3`)");
    assert.equal(pm2Hint(['--instances=4', 'app.js']), "`--instances` is PM2's; Qilin's is `-w 4` (`--workers 4`)");
    assert.equal(pm2Hint(['-i4', 'app.js']), "`-i` is PM2's; Qilin's is `-w 4` (`--workers 4`)");
  });

  test('-i max, -i 0 and a bare -i are one per CPU, which is already the default', () => {
    for (const words of [
      ['-i', 'max', 'app.js'],
      ['-i', '0', 'app.js'],
      ['app.js', '-i'],
    ]) {
      assert.match(pm2Hint(words) ?? '', /is PM2's for one worker per CPU, which is already Qilin's default: leave it out/, words.join(' '));
    }
    assert.match(pm2Hint(['-i', '-1', 'app.js']) ?? '', /^`-i -1` is PM2's for fewer workers than CPUs; Qilin's is `-w <n>`/);
  });

  test('other PM2 flags name what Qilin has instead', () => {
    assert.match(pm2Hint(['--wait-ready', 'app.js']) ?? '', /Qilin's is `--ready-when ready`/);
    assert.match(pm2Hint(['--listen-timeout', '8000', 'app.js']) ?? '', /Qilin's is `--ready-timeout 8000ms`/);
    assert.match(pm2Hint(['--max-memory-restart', '300M', 'app.js']) ?? '', /`maxMemory` in qilin\.config\.json \(`"maxMemory": "300M"`\)/);
    assert.match(pm2Hint(['--no-daemon', 'app.js']) ?? '', /always runs in the foreground/);
    assert.match(pm2Hint(['--name', 'api', 'app.js']) ?? '', /no app names/);
  });

  test('start is the same line without start, PM2 flags turned into Qilin flags', () => {
    assert.equal(
      pm2Hint(['start', 'app.js']),
      "`start` is PM2's; qilin runs the app in the foreground: `qilin app.js` (an app file named start runs as `qilin ./start`)",
    );
    assert.match(pm2Hint(['start', 'app.js', '-i', '4']) ?? '', /: `qilin -w 4 app\.js` /);
    assert.match(pm2Hint(['start', 'app.js', '--wait-ready', '--', '--port', '80']) ?? '', /: `qilin --ready-when ready app\.js -- --port 80` /);
    assert.match(pm2Hint(['start']) ?? '', /: `qilin <app\.js>` /);
    const withName = (pm2Hint(['start', 'app.js', '--name', 'api', '-i', 'max']) ?? '').split('\n');
    assert.match(withName[0] ?? '', /: `qilin app\.js` /);
    assert.match(withName[1] ?? '', /^`--name` is PM2's/);
    assert.equal(withName.length, 2, 'no note for -i max: leaving it out is the Qilin form');
  });

  test('start with an ecosystem file points at qilin.config.json', () => {
    for (const file of ['ecosystem.config.js', 'deploy/ecosystem.config.cjs', 'ecosystem.json']) {
      assert.match(pm2Hint(['start', file]) ?? '', /does not read PM2's ecosystem files: .* in qilin\.config\.json/, file);
    }
  });

  test('restart, delete, list, ls, logs and monit point at the Qilin equivalent or say there is none', () => {
    assert.match(pm2Hint(['restart', 'api']) ?? '', /Qilin's is `qilin reload`/);
    assert.match(pm2Hint(['delete', 'api']) ?? '', /`qilin stop`/);
    assert.match(pm2Hint(['list']) ?? '', /Qilin's is `qilin status`/);
    assert.match(pm2Hint(['ls']) ?? '', /Qilin's is `qilin status`/);
    assert.match(pm2Hint(['logs']) ?? '', /qilin has none/);
    assert.match(pm2Hint(['monit']) ?? '', /Qilin's is `qilin status --watch`/);
    assert.deepEqual([...PM2_COMMANDS].sort(), ['delete', 'list', 'logs', 'ls', 'monit', 'restart', 'start']);
  });

  test("Qilin's own command lines have no hint: a command only as the first word, nothing after --", () => {
    assert.equal(pm2Hint(['-w', '2', 'app.js']), null);
    assert.equal(pm2Hint(['./start']), null);
    assert.equal(pm2Hint(['-w', '2', 'start']), null);
    assert.equal(pm2Hint(['app.js', '--', '-i', '2', '--name', 'x']), null);
    assert.equal(pm2Hint(['--node-args=-i', 'app.js']), null);
    assert.equal(pm2Hint([]), null);
  });
});
