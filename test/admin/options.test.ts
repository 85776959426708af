// The `admin` option in the options pipeline, and the admin settings read from flags, environment and qilin-daemon.json.
import assert from 'node:assert/strict';
import { inspect, parseArgs } from 'node:util';
import { describe, test } from 'node:test';
import { ADMIN_SERVER_FLAGS, adminFromDaemonConfig, adminFromFlags, credentialsFrom } from '../../src/cli/admin-config.js';
import { resolveAdminOptions } from '../../src/admin/options.js';
import { resolveClusterOptions as resolveOptions } from '../../src/assemble.js';
import { warningsDuring } from '../warnings.js';

function throwsNaming(fn: () => unknown, option: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TypeError, 'an InvalidOptionError is a TypeError');
    assert.equal((error as { code?: string }).code, 'ERR_QILIN_INVALID_OPTION');
    assert.equal((error as { option?: string }).option, option);
    if (message) assert.match((error as Error).message, message);
    return true;
  });
}

describe('the admin option', { timeout: 5_000 }, () => {
  test('is off by default and with false', () => {
    assert.equal(resolveOptions({}).admin, null);
    assert.equal(resolveOptions({ admin: false }).admin, null);
  });

  test('a bare port listens on 127.0.0.1 without credentials', () => {
    const admin = resolveOptions({ admin: { listen: 9000 } }).admin;
    assert.deepEqual(admin?.listen, { kind: 'tcp', host: '127.0.0.1', port: 9000 });
    assert.equal(admin?.auth, null);
    assert.equal(admin?.publicHealth, false);
  });

  test('refuses a non-loopback address without credentials, naming admin.listen and how to fix it', () => {
    for (const listen of ['0.0.0.0:9000', '[::]:9000', '10.1.2.3:80', 'example.com:9000']) {
      throwsNaming(() => resolveOptions({ admin: { listen } }), 'admin.listen', /loopback.*admin\.password.*admin\.token/s);
    }
  });

  test('accepts a non-loopback address with Basic credentials or a token', () => {
    const basic = resolveOptions({ admin: { listen: '0.0.0.0:9000', username: 'ops', password: 's3cret' } }).admin;
    assert.equal(basic?.auth?.basic, true);
    assert.equal(basic?.auth?.bearer, false);
    const bearer = resolveOptions({ admin: { listen: '0.0.0.0:9000', token: 'abc123' } }).admin;
    assert.equal(bearer?.auth?.bearer, true);
  });

  test('ignores an unknown key with a warning that names it', async () => {
    const warnings = await warningsDuring(() => assert.equal(resolveOptions({ admin: { listen: 9000, tokn: 'x' } as never }).admin?.auth, null));
    assert.deepEqual(
      warnings.map((w) => w.message),
      ['Unknown option `admin.tokn` is ignored; did you mean `admin.token`?'],
    );
  });

  test('names each wrong key', () => {
    throwsNaming(() => resolveOptions({ admin: 9000 as never }), 'admin', /an object/);
    throwsNaming(() => resolveOptions({ admin: {} as never }), 'admin.listen', /got `undefined`/);
    throwsNaming(() => resolveOptions({ admin: { listen: 'nope' } }), 'admin.listen', /got `"nope"` \(string\)/);
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, username: 'ops' } }), 'admin.password', /admin\.username/);
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, password: 'x' } }), 'admin.username', /admin\.password/);
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, username: 'a:b', password: 'x' } }), 'admin.username');
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, username: '', password: 'x' } }), 'admin.username');
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, token: 'has space' } }), 'admin.token');
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, token: '' } }), 'admin.token');
    throwsNaming(() => resolveOptions({ admin: { listen: 9000, publicHealth: 'yes' as never } }), 'admin.publicHealth');
  });

  test('never shows the secrets when the options are printed', () => {
    const options = resolveOptions({ admin: { listen: 9000, username: 'ops', password: 'hunter2-password', token: 'tok-SECRET-123' } });
    const shown = inspect(options, { depth: 10 }) + JSON.stringify(options);
    assert.ok(!shown.includes('hunter2-password'), shown);
    assert.ok(!shown.includes('tok-SECRET-123'), shown);
    assert.ok(Object.isFrozen(options.admin));
  });

  test('leaves the caller’s object as it was', () => {
    const given = { listen: 9000, username: 'ops', password: 'pw' };
    const copy = structuredClone(given);
    resolveAdminOptions(given);
    assert.deepEqual(given, copy);
  });
});

describe('admin settings from the command line and the environment', { timeout: 5_000 }, () => {
  test('flags win over QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN; empty values count as absent', () => {
    const env = { QILIN_ADMIN_PASSWORD: 'from-env', QILIN_ADMIN_TOKEN: 'tok-env' };
    assert.deepEqual(credentialsFrom({ 'admin-user': 'ops' }, env), { username: 'ops', password: 'from-env', token: 'tok-env' });
    assert.deepEqual(credentialsFrom({ 'admin-password': 'flag', 'admin-token': 'tok-flag' }, env), {
      username: undefined,
      password: 'flag',
      token: 'tok-flag',
    });
    assert.deepEqual(credentialsFrom({ 'admin-user': '' }, { QILIN_ADMIN_PASSWORD: '' }), { username: undefined, password: undefined, token: undefined });
  });

  test('adminFromFlags is off without --admin, and builds an option the pipeline accepts', () => {
    assert.equal(adminFromFlags({}, { QILIN_ADMIN_TOKEN: 't' }), false);
    const admin = adminFromFlags({ admin: '0.0.0.0:9000', 'admin-user': 'ops' }, { QILIN_ADMIN_PASSWORD: 'pw' });
    assert.deepEqual(admin, { listen: '0.0.0.0:9000', username: 'ops', password: 'pw' });
    assert.equal(resolveOptions({ admin }).admin?.auth?.basic, true);
    const probes = adminFromFlags({ admin: '9000', 'admin-token': 'tok', 'admin-public-health': true }, {});
    assert.deepEqual(probes, { listen: '9000', token: 'tok', publicHealth: true });
    assert.equal(resolveOptions({ admin: probes }).admin?.publicHealth, true);
  });

  test('the server’s flags parse with util.parseArgs', () => {
    const { values } = parseArgs({ args: ['--admin', 'unix:/run/a.sock', '--admin-user', 'ops', '--admin-public-health'], options: ADMIN_SERVER_FLAGS });
    assert.deepEqual(adminFromFlags(values, { QILIN_ADMIN_PASSWORD: 'pw' }), {
      listen: 'unix:/run/a.sock',
      username: 'ops',
      password: 'pw',
      publicHealth: true,
    });
  });
});

describe('qilin-daemon.json keys', { timeout: 5_000 }, () => {
  test('no daemon_port: no admin interface', () => {
    assert.deepEqual(adminFromDaemonConfig({}, {}), { admin: false, notes: [] });
  });

  test('daemon_port with credentials keeps qilin-daemon’s reach: every interface, behind the credentials', () => {
    const { admin, notes } = adminFromDaemonConfig({ daemon_port: 9999, auth_username: 'ops', auth_password: 'pw' }, {});
    assert.deepEqual(admin, { listen: '0.0.0.0:9999', username: 'ops', password: 'pw' });
    assert.deepEqual(notes, []);
    assert.equal(resolveOptions({ admin }).admin?.listen.kind, 'tcp');
  });

  test('daemon_port without credentials is narrowed to 127.0.0.1, with a note saying so', () => {
    const { admin, notes } = adminFromDaemonConfig({ daemon_port: '9999' }, {});
    assert.deepEqual(admin, { listen: 9999 });
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /127\.0\.0\.1 only/);
  });

  test('the password may come from QILIN_ADMIN_PASSWORD, a token from QILIN_ADMIN_TOKEN', () => {
    assert.deepEqual(adminFromDaemonConfig({ daemon_port: 1, auth_username: 'ops' }, { QILIN_ADMIN_PASSWORD: 'pw' }).admin, {
      listen: '0.0.0.0:1',
      username: 'ops',
      password: 'pw',
    });
    assert.deepEqual(adminFromDaemonConfig({ daemon_port: 1 }, { QILIN_ADMIN_TOKEN: 'tok' }).admin, { listen: '0.0.0.0:1', token: 'tok' });
    // Both in the environment and no auth_username: the token, without the password that has no user.
    assert.deepEqual(adminFromDaemonConfig({ daemon_port: 1 }, { QILIN_ADMIN_PASSWORD: 'pw', QILIN_ADMIN_TOKEN: 'tok' }).admin, {
      listen: '0.0.0.0:1',
      token: 'tok',
    });
  });

  test('wrong values name the JSON key', () => {
    throwsNaming(() => adminFromDaemonConfig({ daemon_port: 'abc' }, {}), 'daemon_port');
    throwsNaming(() => adminFromDaemonConfig({ daemon_port: 70000 }, {}), 'daemon_port');
    throwsNaming(() => adminFromDaemonConfig({ daemon_port: 1, auth_username: 5 }, {}), 'auth_username');
    throwsNaming(() => adminFromDaemonConfig({ daemon_port: 1, auth_username: 'ops' }, {}), 'auth_password');
    throwsNaming(() => adminFromDaemonConfig({ daemon_port: 1, auth_password: 'pw' }, {}), 'auth_username');
  });
});
