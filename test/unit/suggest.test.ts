import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestName, editDistance } from '../../src/suggest.js';

describe('closestName', () => {
  it('counts edits, a swap of neighbours as one', () => {
    assert.equal(editDistance('workers', 'workers'), 0);
    assert.equal(editDistance('wokers', 'workers'), 1);
    assert.equal(editDistance('wrokers', 'workers'), 1);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('suggests the near name, or the same one in another spelling', () => {
    const known = ['workers', 'timeout', 'readyTimeout', 'killTimeout', 'watch'];
    assert.equal(closestName('worker', known), 'workers');
    assert.equal(closestName('timout', known), 'timeout');
    assert.equal(closestName('ready_timeout', known), 'readyTimeout');
    assert.equal(closestName('ready-timeout', known), 'readyTimeout');
    assert.equal(closestName('KILLTIMEOUT', known), 'killTimeout');
  });

  it('suggests nothing when nothing is close', () => {
    assert.equal(closestName('file', ['workers', 'timeout', 'cwd', 'log']), undefined);
    assert.equal(closestName('', ['workers']), undefined);
    assert.equal(closestName('uid', ['cwd', 'exec']), undefined);
    assert.equal(closestName('instances', ['workers']), undefined);
  });
});
