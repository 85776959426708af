// The pid file claim: exclusive, whole, stale files replaced, and exactly one winner among instances started at once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { claimPidFile } from '../../src/cli/pid-file.js';
import { until, within } from '../wait.js';

const MODULE = fileURLToPath(new URL('../../src/cli/pid-file.ts', import.meta.url));
/** Above Linux's largest pid (2^22), so no process has it. */
const GONE = 999_999_999;

function pidFileIn(t: TestContext): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qilin-pid-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, file: path.join(dir, 'qilin.pid') };
}

describe('claimPidFile', () => {
  it('creates the file with this pid and leaves nothing beside it', (t) => {
    const { dir, file } = pidFileIn(t);
    claimPidFile(file);
    assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(readdirSync(dir), ['qilin.pid']);
  });

  it('refuses while the file names another running process, and leaves the file alone', (t) => {
    const { dir, file } = pidFileIn(t);
    writeFileSync(file, `${process.pid}\n`);
    // Claimed as another pid: this test's own process is the running holder.
    assert.throws(() => claimPidFile(file, GONE), { code: 'ERR_QILIN_CANNOT_START', message: new RegExp(`names process ${process.pid}, which is running`) });
    assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(readdirSync(dir), ['qilin.pid']);
  });

  for (const [what, content] of [
    ['a process that is gone', `${GONE}\n`],
    ['no pid at all', 'not a pid\n'],
    ['this very process (a restarted container, pid 1 both times)', `${process.pid}\n`],
  ] as const) {
    it(`replaces a stale file that names ${what}`, (t) => {
      const { dir, file } = pidFileIn(t);
      writeFileSync(file, content);
      claimPidFile(file);
      assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`);
      assert.deepEqual(readdirSync(dir), ['qilin.pid']);
    });
  }

  it('names a lock left by an instance killed while it replaced a stale file, and leaves the stale file', (t) => {
    const { file } = pidFileIn(t);
    writeFileSync(file, `${GONE}\n`);
    writeFileSync(`${file}.lock`, `${GONE + 1}\n`);
    assert.throws(() => claimPidFile(file), {
      code: 'ERR_QILIN_CANNOT_START',
      message: /qilin\.pid\.lock is left by an instance stopped while it replaced a stale pid file; remove it/,
    });
    assert.equal(readFileSync(file, 'utf8'), `${GONE}\n`);
  });

  it('never writes through a symlink planted at the file, a temporary name or the lock', (t) => {
    const { dir, file } = pidFileIn(t);
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    // The names a predictable scheme would use for the temporary file.
    for (const name of [`${file}.${process.pid}.tmp`, `${file}.tmp`]) symlinkSync(victim, name);
    symlinkSync(victim, file);
    claimPidFile(file);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.ok(lstatSync(file).isFile(), 'the planted link was replaced by a file, not followed');
    assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(readdirSync(dir).sort(), ['qilin.pid', `qilin.pid.${process.pid}.tmp`, 'qilin.pid.tmp', 'victim'], 'nothing else was made or removed');

    rmSync(file);
    writeFileSync(file, `${GONE}\n`);
    symlinkSync(victim, `${file}.lock`);
    assert.throws(() => claimPidFile(file), {
      code: 'ERR_QILIN_CANNOT_START',
      message: /qilin\.pid\.lock is in the way and is not a lock qilin made; remove it/,
    });
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal(readFileSync(file, 'utf8'), `${GONE}\n`);
  });

  it('gives exactly one of several processes claiming a stale file at once the file', async (t) => {
    const { dir, file } = pidFileIn(t);
    writeFileSync(file, `${GONE}\n`);
    // Each claimant loads the module, says it is ready, claims on "go", reports, and stays alive (so the
    // others see a running holder) until its stdin ends.
    const script = `
      const { claimPidFile } = await import(${JSON.stringify(MODULE)});
      process.stdin.setEncoding('utf8');
      process.stdin.once('data', () => {
        try { claimPidFile(${JSON.stringify(file)}); console.log('won'); } catch (error) { console.log('lost ' + error.message); }
      });
      process.stdin.on('end', () => process.exit(0));
      console.log('ready');`;
    const claimants: { child: ChildProcess; output: string }[] = [];
    t.after(() => {
      for (const { child } of claimants) child.kill('SIGKILL');
    });
    for (let i = 0; i < 6; i += 1) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      const claimant = { child, output: '' };
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        claimant.output += chunk;
      });
      claimants.push(claimant);
    }
    await until('every claimant to load', () => claimants.every((c) => c.output.includes('ready\n')), 30_000);
    for (const { child } of claimants) child.stdin?.write('go\n');
    await until('every claimant to report', () => claimants.every((c) => /\n(won|lost .*)\n/.test(c.output)), 10_000);

    const winners = claimants.filter((c) => c.output.includes('\nwon\n'));
    assert.equal(winners.length, 1, claimants.map((c) => c.output).join(''));
    const winner = winners[0]?.child.pid;
    assert.equal(readFileSync(file, 'utf8'), `${winner}\n`);
    for (const loser of claimants.filter((c) => !winners.includes(c))) assert.match(loser.output, new RegExp(`names process ${winner}, which is running`));
    assert.deepEqual(readdirSync(dir), ['qilin.pid'], 'no temporary file or lock is left');

    for (const { child } of claimants) child.stdin?.end();
    await within(
      10_000,
      'the claimants to exit',
      Promise.all(claimants.map(({ child }) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null))))),
    );
  });
});
