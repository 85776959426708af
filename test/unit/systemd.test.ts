import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEvent } from '../../src/cli/format.js';
import { NOTIFY, notifySocket, watchdogInterval } from '../../src/cli/systemd-messages.js';
import { SystemdNotifier, systemdNotifier } from '../../src/cli/systemd.js';

describe('systemd notification messages', () => {
  it('notifies only when NOTIFY_SOCKET names a socket', () => {
    assert.equal(notifySocket({}), null);
    assert.equal(notifySocket({ NOTIFY_SOCKET: '' }), null);
    assert.equal(notifySocket({ NOTIFY_SOCKET: '/run/systemd/notify' }), '/run/systemd/notify');
    assert.equal(notifySocket({ NOTIFY_SOCKET: '@abstract' }), '@abstract');
  });

  it('keeps the watchdog alive at half of WATCHDOG_USEC, and only when WATCHDOG_PID is this process or unset', () => {
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '30000000' }, 42), 15_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42), null);
    for (const usec of [undefined, '', '0', '-5', 'soon', '1.5']) assert.equal(watchdogInterval({ WATCHDOG_USEC: usec }, 42), null, String(usec));
  });

  it('a status is one line, whatever the reason it carries', () => {
    const [, status] = NOTIFY.reloadFailed(3, 2, 4, 'worker 7 in slot 0 exited with code 1\n  at server.js:2');
    assert.equal(status, 'STATUS=reload to generation 3 failed (worker 7 in slot 0 exited with code 1 at server.js:2); serving generation 2 with 4 workers');
    assert.deepEqual(NOTIFY.ready(9, 1), ['MAINPID=9', 'READY=1', 'STATUS=serving generation 0 with 1 worker']);
  });
});

describe('SystemdNotifier', () => {
  it('sends one notification at a time, in order, and logs a failure to send once', async () => {
    const sent: string[][] = [];
    const logged: LogEvent[] = [];
    let release: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      release = resolve;
    });
    const notifier = new SystemdNotifier(
      (event) => logged.push(event),
      async (assignments) => {
        if (sent.length === 0) await first;
        sent.push([...assignments]);
        return 'the systemd-notify program is not on PATH';
      },
    );
    void notifier.notify(['RELOADING=1']);
    void notifier.notify(['READY=1']);
    await Promise.resolve();
    assert.deepEqual(sent, [], 'the second waits for the first');
    release();
    await notifier.close();
    assert.deepEqual(sent, [['RELOADING=1'], ['READY=1']]);
    assert.deepEqual(logged, [{ event: 'warning', message: 'cannot notify systemd ($NOTIFY_SOCKET is set): the systemd-notify program is not on PATH' }]);
  });

  it('is off without NOTIFY_SOCKET', () => {
    assert.equal(
      systemdNotifier(
        { WATCHDOG_USEC: '1000000' },
        () => {},
        async () => null,
      ),
      null,
    );
  });
});
