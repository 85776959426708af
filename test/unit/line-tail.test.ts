import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineTail } from '../../src/line-tail.js';
import { describeFailedStart } from '../../src/errors.js';

describe('stderr tail', () => {
  it('keeps the last lines across chunk boundaries', () => {
    const tail = new LineTail(3);
    tail.push('one\ntw');
    tail.push('o\nthree\n\nfour\nfi');
    assert.deepEqual(tail.lines(), ['three', 'four', 'fi']);
  });
  it('clips very long lines', () => {
    const tail = new LineTail(2, 5);
    tail.push('abcdefghij\n');
    assert.deepEqual(tail.lines(), ['abcde...']);
  });
});

describe('failed start descriptions', () => {
  it('say which slot, how it failed and when', () => {
    const base = { slot: 1, generation: 2, pid: 42, stderr: [] };
    assert.equal(describeFailedStart({ ...base, failure: { kind: 'exit', code: 1, signal: null } }), 'slot 1 (pid 42) exited with code 1 before it was ready');
    assert.equal(
      describeFailedStart({ ...base, failure: { kind: 'exit', code: null, signal: 'SIGKILL' } }),
      'slot 1 (pid 42) was killed by SIGKILL before it was ready',
    );
    assert.equal(describeFailedStart({ ...base, failure: { kind: 'timeout', afterMs: 300 } }), 'slot 1 (pid 42) was not ready within 300 ms');
  });
});
