// The check for exited workers after a burst of signals: when it runs, and that it stops once the signals do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHILD_CHECK_DELAY, ChildCheck } from '../../src/cli/child-check.js';

describe('child check after signals', () => {
  it('checks once after a lone signal, every delay while a burst lasts, once more after it, then never again', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let checks = 0;
    const check = new ChildCheck(() => (checks += 1));
    t.after(() => check.stop());

    check.signalled();
    t.mock.timers.tick(CHILD_CHECK_DELAY - 1);
    assert.equal(checks, 0, 'not before the delay');
    t.mock.timers.tick(1);
    assert.equal(checks, 1, 'once after a lone signal');
    t.mock.timers.tick(CHILD_CHECK_DELAY * 5);
    assert.equal(checks, 1, 'and not again without signals');

    // A burst of 1 s: a signal every 10 ms.
    for (let elapsed = 0; elapsed < 1_000; elapsed += 10) {
      check.signalled();
      t.mock.timers.tick(10);
    }
    assert.equal(checks, 1 + 1_000 / CHILD_CHECK_DELAY, 'one check per delay during the burst');
    t.mock.timers.tick(CHILD_CHECK_DELAY);
    assert.equal(checks, 2 + 1_000 / CHILD_CHECK_DELAY, 'one more after the burst, when the signals have been read');
    t.mock.timers.tick(CHILD_CHECK_DELAY * 10);
    assert.equal(checks, 2 + 1_000 / CHILD_CHECK_DELAY, 'then none');
  });

  it('a check that throws (the process is going) and stop() end it quietly', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let checks = 0;
    const check = new ChildCheck(() => {
      checks += 1;
      throw new Error('ESRCH');
    });
    check.signalled();
    check.signalled();
    t.mock.timers.tick(CHILD_CHECK_DELAY);
    assert.equal(checks, 1);
    check.signalled();
    check.stop();
    t.mock.timers.tick(CHILD_CHECK_DELAY * 3);
    assert.equal(checks, 1, 'nothing after stop()');
  });
});
