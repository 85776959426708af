// The command's log lines: words per event, levels, the human line and the JSON line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LogEvent, describeEvent, formatLine } from '../../src/cli/format.js';
import { DEFAULT_WATCH_EXTENSIONS } from '../../src/options.js';

const time = new Date('2024-05-01T10:00:00.000Z');
const cwd = '/srv/app';
const words = (e: LogEvent) => describeEvent(e, cwd);

describe('describeEvent', () => {
  test('worker lifecycle: up with slot and pid, ready, exit with code or signal, respawn delay in words', () => {
    assert.deepEqual(words({ event: 'fork', slot: 1, pid: 42, generation: 0 }), { level: 'info', message: 'slot 1: worker up, pid 42 (generation 0)' });
    assert.deepEqual(words({ event: 'ready', slot: 1, pid: 42, generation: 3 }), { level: 'info', message: 'slot 1: ready, pid 42 (generation 3)' });
    assert.deepEqual(words({ event: 'exit', slot: 0, pid: 42, code: 1, signal: null, retired: false }), {
      level: 'warn',
      message: 'slot 0: worker 42 exited with code 1',
    });
    assert.deepEqual(words({ event: 'exit', slot: 0, pid: 42, code: null, signal: 'SIGKILL', retired: false }), {
      level: 'warn',
      message: 'slot 0: worker 42 was killed by SIGKILL',
    });
    assert.deepEqual(words({ event: 'exit', slot: 2, pid: 7, code: 0, signal: null, retired: true }), {
      level: 'info',
      message: 'slot 2: worker 7 exited with code 0 (retired)',
    });
    assert.deepEqual(words({ event: 'respawn', slot: 0, delayMs: 2000 }), { level: 'warn', message: 'slot 0: respawning in 2 seconds' });
    assert.deepEqual(words({ event: 'respawn', slot: 0, delayMs: 0 }), { level: 'warn', message: 'slot 0: respawning in 0 ms' });
    assert.equal(words({ event: 'replace', slot: 1, pid: 9, reason: 'crashed' }).message, 'slot 1: worker 9 is being replaced: it had an uncaught exception');
  });

  test('reloads: started, progress as slots become ready, done, failed with the reason', () => {
    assert.equal(words({ event: 'reloadStart', generation: 2, strategy: 'rolling', slots: 3 }).message, 'reload to generation 2 started (rolling, 3 slots)');
    assert.equal(words({ event: 'reloadProgress', generation: 2, ready: 1, slots: 3 }).message, 'reload to generation 2: 1 of 3 slots ready');
    assert.equal(words({ event: 'reloadEnd', generation: 2, durationMs: 1500 }).message, 'reload to generation 2 done in 1.5 s');
    assert.deepEqual(words({ event: 'reloadFailed', generation: 2, reason: 'slot 0 (pid 5) exited with code 1 before it was ready' }), {
      level: 'error',
      message: 'reload to generation 2 failed: slot 0 (pid 5) exited with code 1 before it was ready',
    });
  });

  test('a slow upgrade of the primary says whether the new one runs yet', () => {
    const slow = { event: 'upgradeSlow', pid: 77, waitedMs: 5_000, timeoutMs: 75_000 } as const;
    assert.deepEqual(words({ ...slow, running: false }), {
      level: 'warn',
      message:
        'upgrading the primary: the new primary (pid 77) has not begun to run after 5 seconds (starting a process is slow on this machine now: load, a slow disk); this primary serves meanwhile, for up to 75 seconds',
    });
    assert.equal(
      words({ ...slow, running: true }).message,
      'upgrading the primary: the new primary (pid 77) runs, but does not serve yet after 5 seconds (its own lines say what it waits for); this primary serves meanwhile, for up to 75 seconds',
    );
  });

  test("a rebalancing round names each worker that asked clients to reconnect, and every slot's busy connections", () => {
    const workers = [
      { slot: 0, pid: 40, busy: 14, asked: 6 },
      { slot: 1, pid: 41, busy: 8, asked: 0 },
      { slot: 2, pid: null, busy: 6, asked: 0 },
      { slot: 3, pid: 43, busy: 4, asked: 0 },
    ];
    assert.deepEqual(words({ event: 'rebalance', workers }), {
      level: 'info',
      message: 'rebalancing kept-alive connections: worker 40 in slot 0 asked 6 of its 14 busy clients to reconnect (busy per slot: 14, 8, 6, 4)',
    });
  });

  test('canary reloads: the canary starts, then passes, or fails as a warning with the reason', () => {
    assert.equal(
      words({ event: 'canaryStart', generation: 3, slot: 2, pid: 40, durationMs: 30_000 }).message,
      'reload to generation 3: canary in slot 2 (pid 40) serves beside the previous workers for 30 seconds',
    );
    const counts = { canary: { responses: 20, errors: 0 }, previous: { responses: 40, errors: 1 } };
    assert.deepEqual(words({ event: 'canaryEnd', generation: 3, slot: 2, pid: 40, passed: true, reason: null, durationMs: 30_000, ...counts }), {
      level: 'info',
      message: 'reload to generation 3: canary passed (0 of 20 with a 5xx status (0%); previous workers: 1 of 40 with a 5xx status (2.5%))',
    });
    assert.deepEqual(
      words({
        event: 'canaryEnd',
        generation: 3,
        slot: 2,
        pid: 40,
        passed: false,
        reason: 'it exited with code 3 while it served as the canary',
        durationMs: 500,
        ...counts,
      }),
      { level: 'warn', message: 'reload to generation 3: canary failed, rolling back: it exited with code 3 while it served as the canary' },
    );
  });

  test('the command: start banner with how to reload, watch, signals, scale, stop', () => {
    assert.equal(
      words({ event: 'start', version: '1.2.3', app: '/srv/app/server.js', workers: 2, pid: 100 }).message,
      'qilin 1.2.3 starting server.js with 2 workers (primary pid 100; reload: kill -USR2 100; stop: kill -TERM 100)',
    );
    assert.equal(
      words({ event: 'watching', paths: ['/srv/app/src', '/srv/app'], delayMs: 500, extensions: DEFAULT_WATCH_EXTENSIONS }).message,
      'watching src, . (code and config files; reload 500 ms after the last change)',
    );
    assert.equal(
      words({ event: 'watching', paths: ['/srv/app'], delayMs: 500, extensions: null }).message,
      'watching . (every file; reload 500 ms after the last change)',
    );
    assert.equal(
      words({ event: 'watching', paths: ['/srv/app'], delayMs: 500, extensions: ['js', 'ts', 'hbs'] }).message,
      'watching . (.js, .ts and .hbs files; reload 500 ms after the last change)',
    );
    assert.equal(
      words({ event: 'filesChanged', files: ['/srv/app/a.js', '/srv/app/b.js', '/srv/app/c.js', '/srv/app/d.js'] }).message,
      '4 files changed (a.js, b.js, c.js and 1 more): reloading',
    );
    assert.equal(words({ event: 'signal', signal: 'SIGUSR2', action: 'reload' }).message, 'SIGUSR2: reloading');
    assert.equal(words({ event: 'signal', signal: 'SIGTTIN', action: 'scaleUp', workers: 3 }).message, 'SIGTTIN: scaling to 3 workers');
    assert.equal(words({ event: 'signal', signal: 'SIGTERM', action: 'shutdown' }).message, 'SIGTERM: shutting down gracefully (send it again to force)');
    assert.equal(words({ event: 'signal', signal: 'SIGINT', action: 'force' }).message, 'SIGINT again: killing every worker now');
    assert.equal(words({ event: 'signal', signal: 'SIGHUP', action: 'ignored' }).level, 'warn');
    assert.equal(words({ event: 'scaled', workers: 1 }).message, 'now running 1 worker');
    assert.deepEqual(words({ event: 'stopped', forced: true }), { level: 'warn', message: 'stopped by force: workers were killed' });
    assert.equal(words({ event: 'started', workers: 3, durationMs: 412 }).message, 'all 3 workers ready in 412 ms');
  });

  test('the admin interface: where it listens, with the command that asks it; what it was asked to do', () => {
    assert.deepEqual(words({ event: 'adminListening', address: '127.0.0.1:41234' }), {
      level: 'info',
      message: 'admin interface listening on 127.0.0.1:41234 (qilin status --admin 127.0.0.1:41234)',
    });
    assert.equal(words({ event: 'admin', action: 'reload', refused: false }).message, 'admin interface: reloading');
    assert.equal(words({ event: 'admin', action: 'scale', workers: 3, refused: false }).message, 'admin interface: scaling to 3 workers');
    assert.equal(words({ event: 'admin', action: 'stop', refused: false }).message, 'admin interface: shutting down gracefully');
    assert.deepEqual(words({ event: 'admin', action: 'scale', workers: 1, refused: true }), {
      level: 'warn',
      message: 'admin interface: scale to 1 worker refused while shutting down',
    });
    const line = JSON.parse(formatLine({ event: 'adminListening', address: 'unix:/run/app/admin.sock' }, time, 'json', cwd));
    assert.equal(line.event, 'adminListening');
    assert.equal(line.address, 'unix:/run/app/admin.sock');
  });
});

describe('formatLine', () => {
  test('human: timestamp, tag with the level when not info, message', () => {
    assert.equal(
      formatLine({ event: 'fork', slot: 0, pid: 42, generation: 0 }, time, 'human', cwd),
      '2024-05-01T10:00:00.000Z [qilin] slot 0: worker up, pid 42 (generation 0)',
    );
    assert.equal(
      formatLine({ event: 'respawn', slot: 0, delayMs: 1000 }, time, 'human', cwd),
      '2024-05-01T10:00:00.000Z [qilin] warn: slot 0: respawning in 1 second',
    );
  });

  test('json: one object per line with time, level, msg, the event name and its fields', () => {
    const line = formatLine({ event: 'exit', slot: 1, pid: 42, code: null, signal: 'SIGTERM', retired: false }, time, 'json', cwd);
    assert.equal(line.includes('\n'), false);
    assert.deepEqual(JSON.parse(line), {
      time: '2024-05-01T10:00:00.000Z',
      level: 'warn',
      msg: 'slot 1: worker 42 was killed by SIGTERM',
      event: 'exit',
      slot: 1,
      pid: 42,
      code: null,
      signal: 'SIGTERM',
      retired: false,
    });
    const failed = JSON.parse(formatLine({ event: 'reloadFailed', generation: 1, reason: 'a\n  last stderr lines:\n    boom' }, time, 'json', cwd));
    assert.equal(failed.reason, 'a\n  last stderr lines:\n    boom');
  });
});
