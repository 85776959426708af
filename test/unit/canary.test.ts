import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countsSince, describeShare, judgeCanary, sumCounts } from '../../src/reload/canary.js';

const window = (canary: [number, number], previous: [number, number]) => ({
  canary: { responses: canary[0], errors: canary[1] },
  previous: { responses: previous[0], errors: previous[1] },
  durationMs: 30_000,
});

describe('judging a canary', () => {
  it('passes a canary with no 5xx, or with a share within the allowed rise over the previous generation', () => {
    assert.equal(judgeCanary(window([100, 0], [400, 0]), 0.01).passed, true);
    // 5% against the previous 4.5%: half a point above, within one point.
    assert.equal(judgeCanary(window([200, 10], [400, 18]), 0.01).passed, true);
    // Nothing answered: nothing to hold against it.
    assert.equal(judgeCanary(window([0, 0], [400, 0]), 0.01).passed, true);
  });

  it('fails a canary whose share of 5xx is above the previous share by more than allowed, and says by how much', () => {
    const verdict = judgeCanary(window([50, 5], [400, 4]), 0.01);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.passed ? '' : verdict.reason,
      'it answered 5 of 50 with a 5xx status (10%) in 30000 ms, against 4 of 400 with a 5xx status (1.0%) from the previous generation, above the 2.0% allowed (canaryErrorRate)',
    );
    // One 5xx of one response is 100%: it fails, however little traffic there was.
    assert.equal(judgeCanary(window([1, 1], [0, 0]), 0.05).passed, false);
    // With a rise of 0, any share above the previous one fails.
    assert.equal(judgeCanary(window([100, 2], [100, 1]), 0).passed, false);
    assert.equal(judgeCanary(window([100, 1], [100, 1]), 0).passed, true);
  });

  it('counts what was answered during the window, over every previous worker', () => {
    assert.deepEqual(countsSince({ responses: 10, errors: 1 }, { responses: 25, errors: 3 }), { responses: 15, errors: 2 });
    assert.deepEqual(
      sumCounts([
        { responses: 15, errors: 2 },
        { responses: 5, errors: 0 },
      ]),
      { responses: 20, errors: 2 },
    );
    assert.equal(describeShare({ responses: 0, errors: 0 }), 'no responses');
    assert.equal(describeShare({ responses: 3, errors: 1 }), '1 of 3 with a 5xx status (33%)');
  });
});
