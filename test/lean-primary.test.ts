// The primary process made lean (leanPrimary): what V8 does with its hot code, for each balance, and with the option off.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { fixture } from './helpers.js';

const run = promisify(execFile);

/** Starts a one-worker cluster in a fresh primary with `options`, runs a function hot there, and reports. */
async function probe(options: object, nodeFlags: string[] = []): Promise<{ optimized: boolean }> {
  const { stdout, stderr } = await run(process.execPath, ['--allow-natives-syntax', ...nodeFlags, fixture('lean-probe.cjs'), JSON.stringify(options)], {
    timeout: 30_000,
  });
  // V8 prints an error for a flag it does not know, and goes on.
  assert.doesNotMatch(stderr, /unrecognized flag/);
  return JSON.parse(stdout);
}

describe('leanPrimary', { timeout: 60_000 }, () => {
  test('with the kernel balance, the primary runs its hot code unoptimized', async () => {
    assert.equal((await probe({})).optimized, false);
  });

  test('leanPrimary: false leaves V8 to optimize it', async () => {
    assert.equal((await probe({ leanPrimary: false })).optimized, true);
  });

  test('a primary that relays connections keeps the optimizing compilers', async () => {
    assert.equal((await probe({ balance: 'round-robin' })).optimized, true);
  });

  test("node's own flags win", async () => {
    assert.equal((await probe({}, ['--opt', '--maglev'])).optimized, true);
  });
});
