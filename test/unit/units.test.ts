import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/units.js';

describe('durations', () => {
  it('reads numbers as seconds', () => {
    assert.equal(parseDuration(1), 1_000);
    assert.equal(parseDuration(0.25), 250);
    assert.equal(parseDuration(0), 0);
  });
  it('reads strings with units', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('2 minutes'), 120_000);
  });
  it('refuses negatives, non-finite numbers, unitless strings and other types', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10', ' 5 ', 'soon', '', null, {}, true]) {
      assert.equal(parseDuration(bad), undefined, `refuses ${String(bad)}`);
    }
  });
  it('writes durations in words', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(250), '250 ms');
    assert.equal(formatDuration(2_000), '2 seconds');
    assert.equal(formatDuration(60_000), '1 minute');
    // Never rounded into another duration: 75 s is not "1 minute", 1.5 s not "2 seconds".
    assert.equal(formatDuration(75_000), '75 seconds');
    assert.equal(formatDuration(1_500), '1500 ms');
    assert.equal(formatDuration(3_600_000), '1 hour');
  });
});

describe('sizes', () => {
  it('reads bytes and units in powers of 1024', () => {
    assert.equal(parseSize(1024), 1024);
    assert.equal(parseSize('1K'), 1024);
    assert.equal(parseSize('300m'), 300 * 1024 ** 2);
    assert.equal(parseSize('1.5GB'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('512 MiB'), 512 * 1024 ** 2);
  });
  it('refuses zero, negatives and unknown units', () => {
    for (const bad of [0, -5, '0MB', '5 parsecs', 'MB', undefined, false]) assert.equal(parseSize(bad), undefined);
  });
  it('refuses a string without a unit rather than reading it as bytes, and a fraction of a byte', () => {
    for (const bad of ['512', ' 512 ', '1.5', 0.5, 1024.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(parseSize(bad), undefined, String(bad));
    assert.equal(parseSize('512b'), 512);
    assert.equal(parseSize(512), 512);
  });
  it('refuses a size too large to count exactly', () => {
    assert.equal(parseSize(2 ** 53), undefined);
    assert.equal(parseSize('9999999999999GB'), undefined);
    assert.equal(parseSize(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  });
  it('writes sizes for people', () => {
    assert.equal(formatSize(512 * 1024 ** 2), '512 MB');
    assert.equal(formatSize(1.5 * 1024 ** 3), '1.5 GB');
  });
});
