// Which V8 flags make a primary lean, for each balance, after other clusters, around flags node was given, and on each V8.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leanFlags } from '../../src/lean-primary.js';

const ALL = ['--semi-space-growth-factor=1', '--no-opt', '--no-maglev', '--memory-saver-mode'];
const V8 = 13;

describe('a lean primary', () => {
  it('with the kernel balance (a shared socket, or one per slot): a young generation that does not grow, no optimizing compiler, the memory saver', () => {
    assert.deepEqual(leanFlags('kernel', {}, [], V8), { flags: ALL, state: { young: 'set', compilers: 'set', saver: 'set' } });
    assert.deepEqual(leanFlags('reuseport', {}, [], V8), { flags: ALL, state: { young: 'set', compilers: 'set', saver: 'set' } });
  });

  it('relaying connections, only the young generation', () => {
    for (const balance of ['round-robin', 'sticky'] as const) {
      assert.deepEqual(leanFlags(balance, {}, [], V8), {
        flags: ['--semi-space-growth-factor=1'],
        state: { young: 'set', compilers: 'kept', saver: 'kept' },
      });
    }
  });

  it('sets nothing twice for a second cluster in the process', () => {
    const first = leanFlags('kernel', {}, [], V8).state;
    assert.deepEqual(leanFlags('kernel', first, [], V8), { flags: [], state: first });
  });

  it('puts V8 back for a relaying cluster after a kernel one, and leaves it so', () => {
    const relaying = leanFlags('round-robin', leanFlags('kernel', {}, [], V8).state, [], V8);
    assert.deepEqual(relaying.flags, ['--opt', '--maglev', '--no-memory-saver-mode']);
    assert.deepEqual(leanFlags('kernel', relaying.state, [], V8).flags, []);
  });

  it('leaves each family of flags node was given as given', () => {
    const without = (...dropped: string[]) => ALL.filter((flag) => !dropped.includes(flag));
    assert.deepEqual(leanFlags('kernel', {}, ['--max-semi-space-size=8'], V8).flags, without('--semi-space-growth-factor=1'));
    assert.deepEqual(leanFlags('kernel', {}, ['--semi_space_growth_factor=4'], V8).flags, without('--semi-space-growth-factor=1'));
    assert.deepEqual(leanFlags('kernel', {}, ['--max-old-space-size=100', '--maglev'], V8).flags, without('--no-opt', '--no-maglev'));
    assert.deepEqual(leanFlags('kernel', {}, ['--jitless'], V8).flags, without('--no-opt', '--no-maglev'));
    assert.deepEqual(leanFlags('kernel', {}, ['--no-memory-saver-mode'], V8).flags, without('--memory-saver-mode'));
    // An unrelated flag that starts alike is not one of them.
    assert.deepEqual(leanFlags('kernel', {}, ['--optimize-for-size', '--max-semi-space-size-x'], V8).flags, ALL);
  });

  it('sets no flag the running V8 does not know (the memory saver came with V8 13, Node 24)', () => {
    assert.deepEqual(leanFlags('kernel', {}, [], 12), {
      flags: ['--semi-space-growth-factor=1', '--no-opt', '--no-maglev'],
      state: { young: 'set', compilers: 'set', saver: 'kept' },
    });
  });
});
