import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FailedStart, InvalidOptionError, QilinError, ReloadError, StartError } from '../../src/errors.js';

const start: FailedStart = { slot: 0, generation: 1, pid: 42, failure: { kind: 'exit', code: 1, signal: null }, stderr: [] };

describe('error classes', () => {
  it('every error with a Qilin code is a QilinError, an invalid option a TypeError too', () => {
    assert.ok(new InvalidOptionError('workers', 'a number', 'x') instanceof QilinError);
    assert.ok(new InvalidOptionError('workers', 'a number', 'x') instanceof TypeError);
    assert.ok(new ReloadError(1, start, []) instanceof QilinError);
    assert.ok(new StartError(start) instanceof QilinError);
    assert.equal(new Error('plain') instanceof QilinError, false);
  });

  it('a refusal (the cluster is stopping) is neither a ReloadError nor a StartError', () => {
    const refusal = new QilinError('ERR_QILIN_SHUTTING_DOWN', 'The cluster is shutting down');
    assert.equal(refusal instanceof ReloadError, false);
    assert.equal(refusal instanceof StartError, false);
    assert.equal(new ReloadError(1, start, []) instanceof StartError, false);
    assert.ok(new ReloadError(1, start, []) instanceof ReloadError);
  });
});
