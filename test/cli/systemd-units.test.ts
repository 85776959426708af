// The unit files docs/deploying.md gives for systemd, checked by systemd itself (`systemd-analyze verify`): every directive known, the service and its socket together; what they make qilin do is tested in systemd.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(root, 'dist', 'cli.js');

/** Each unit file the page gives, by name: a path like `/etc/systemd/system/my-app.service` followed by an `ini` block. */
function unitsIn(page: string): Map<string, string> {
  const units = new Map<string, string>();
  for (const match of page.matchAll(/`\/etc\/systemd\/system\/([\w.@-]+)`:\s*```ini\n([\s\S]*?)```/g)) units.set(match[1] as string, match[2] as string);
  return units;
}

const verifier = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;

describe('the systemd unit files in docs/deploying.md', () => {
  test('are valid to systemd, the service alone and with its socket', {
    skip: !verifier && 'needs systemd-analyze (Debian: systemd)',
    timeout: 30_000,
  }, (t) => {
    const units = unitsIn(readFileSync(path.join(root, 'docs', 'deploying.md'), 'utf8'));
    assert.deepEqual([...units.keys()].sort(), ['my-app.service', 'my-app.socket']);
    const dir = tempDir(t);
    // As installed here: the command is this checkout's, the app's folder a temporary one.
    const service = (units.get('my-app.service') as string)
      .replace(/^ExecStart=\S+/m, `ExecStart=${CLI}`)
      .replace(/^WorkingDirectory=.*$/m, `WorkingDirectory=${dir}`);
    const verify = (...files: string[]) => spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { cwd: dir, encoding: 'utf8', timeout: 20_000 });

    writeFileSync(path.join(dir, 'my-app.service'), service);
    const alone = verify('./my-app.service');
    assert.equal(alone.status, 0, alone.stderr);
    assert.equal(alone.stderr.trim(), '', 'no directive unknown or ignored');

    // With socket activation the page adds these two lines under [Unit].
    writeFileSync(path.join(dir, 'my-app.service'), service.replace('[Unit]\n', '[Unit]\nRequires=my-app.socket\nAfter=my-app.socket\n'));
    writeFileSync(path.join(dir, 'my-app.socket'), units.get('my-app.socket') as string);
    const paired = verify('./my-app.socket', './my-app.service');
    assert.equal(paired.status, 0, paired.stderr);
    assert.equal(paired.stderr.trim(), '', 'no directive unknown or ignored');

    // The check can fail: a misspelt directive is reported.
    writeFileSync(path.join(dir, 'my-app.socket'), (units.get('my-app.socket') as string).replace('ListenStream=', 'ListenStreem='));
    assert.match(verify('./my-app.socket').stderr, /Unknown key 'ListenStreem'/);
  });
});
