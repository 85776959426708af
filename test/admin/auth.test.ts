// Admin credentials: reading the Authorization header and checking Basic credentials and bearer tokens.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdminAuth, parseAuthorization } from '../../src/admin/auth.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('parseAuthorization', { timeout: 5_000 }, () => {
  test('reads Basic and Bearer, whatever the scheme’s case', () => {
    assert.deepEqual(parseAuthorization(basic('ops', 'p:w é')), { scheme: 'basic', username: 'ops', password: 'p:w é' });
    assert.deepEqual(parseAuthorization('bearer abc.def'), { scheme: 'bearer', token: 'abc.def' });
    assert.deepEqual(parseAuthorization(`BASIC ${Buffer.from('a:').toString('base64')}`), { scheme: 'basic', username: 'a', password: '' });
  });

  test('refuses what is missing or malformed', () => {
    for (const header of [
      undefined,
      '',
      'Basic',
      'Bearer',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Digest abc',
      'Bearer a b',
      'abc',
    ]) {
      assert.equal(parseAuthorization(header), null, String(header));
    }
  });
});

describe('AdminAuth', { timeout: 5_000 }, () => {
  const both = new AdminAuth({ username: 'ops', password: 'right', token: 'tok-right' });

  test('accepts the right Basic credentials and the right token', () => {
    assert.ok(both.check(basic('ops', 'right')));
    assert.ok(both.check('Bearer tok-right'));
  });

  test('refuses a wrong user, a wrong password, a wrong token, a prefix of one, and nothing at all', () => {
    for (const header of [
      basic('ops', 'wrong'),
      basic('other', 'right'),
      basic('ops', 'righ'),
      basic('ops', 'right2'),
      'Bearer tok-righ',
      'Bearer tok-wrong',
      undefined,
      'Bearer right',
    ]) {
      assert.equal(both.check(header), false, String(header));
    }
  });

  test('accepts only the schemes configured, and challenges with those', () => {
    const tokenOnly = new AdminAuth({ token: 'tok' });
    assert.equal(tokenOnly.check(basic('ops', 'tok')), false);
    assert.ok(tokenOnly.check('Bearer tok'));
    assert.deepEqual(tokenOnly.challenges(), ['Bearer realm="qilin"']);
    const basicOnly = new AdminAuth({ username: 'ops', password: 'pw' });
    assert.equal(basicOnly.check('Bearer pw'), false);
    assert.deepEqual(basicOnly.challenges(), ['Basic realm="qilin", charset="UTF-8"']);
    assert.equal(both.challenges().length, 2);
  });
});
