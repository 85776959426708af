// `npm start` and `npx qilin`: a SIGTERM or SIGINT sent to npm, as a supervisor or a test runner sends it, leaves no qilin and no worker behind.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Exit, freePort, get, isAlive, tempDir, until, within } from './helpers.js';

const TIMEOUT = { timeout: 60_000 };
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** npm running in the repository, its output (stdout and stderr), and the qilin and worker pids that output names. */
class NpmProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<Exit>;

  constructor(child: ChildProcess) {
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => (this.output += chunk));
    }
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** qilin's pid, from its start line: `(primary pid 4100; ...)`. */
  get primary(): number | null {
    const found = /primary pid (\d+)/.exec(this.output);
    return found ? Number(found[1]) : null;
  }

  /** Every worker pid qilin reported forking. */
  get workers(): number[] {
    return [...this.output.matchAll(/worker up, pid (\d+)/g)].map((m) => Number(m[1]));
  }

  async waitForOutput(pattern: RegExp, what: string, ms = 20_000): Promise<void> {
    await until(what, () => pattern.test(this.output), ms).catch((error: Error) => {
      throw new Error(`${error.message}\noutput:\n${this.output}`);
    });
  }
}

/** Runs npm with `args` in `cwd` (the repository unless given); when the test ends, npm, qilin and every worker named are killed. */
function startNpm(t: TestContext, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = root): NpmProcess {
  const child = spawn('npm', args, {
    cwd,
    env: { ...process.env, NODE_ENV: 'test', npm_config_update_notifier: 'false', npm_config_fund: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const npm = new NpmProcess(child);
  t.after(async () => {
    for (const pid of [child.pid, npm.primary, ...npm.workers]) {
      if (typeof pid !== 'number') continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await within(5_000, 'the killed npm to exit', npm.exited).catch(() => {});
  });
  return npm;
}

/**
 * A project that depends on qilin, laid out as `npm install` leaves it: node_modules/qilin links to this
 * repository and node_modules/.bin/qilin to its command. (npx run inside qilin's own repository takes another
 * path: npm installs the project into its npx cache first, which takes seconds and is not what users run.)
 */
function projectUsingQilin(t: TestContext): string {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies: { qilin: '*' } }));
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(root, path.join(dir, 'node_modules', 'qilin'));
  const { bin } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: { qilin: string } };
  symlinkSync(path.join('..', 'qilin', bin.qilin), path.join(dir, 'node_modules', '.bin', 'qilin'));
  return dir;
}

/** Waits until qilin and every worker it forked are gone, and nothing answers on `port`. */
async function nothingLeft(npm: NpmProcess, port: number): Promise<void> {
  const pids = [npm.primary as number, ...npm.workers];
  await until(`qilin and its workers (${pids.join(', ')}) to be gone`, () => pids.every((pid) => !isAlive(pid)), 15_000);
  await assert.rejects(get(port), { code: 'ECONNREFUSED' }, `nothing listens on ${port} any more`);
}

describe('npm start and npx qilin', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to \`npm start\` reaches qilin, which stops gracefully with its workers`, TIMEOUT, async (t) => {
      const port = await freePort();
      const npm = startNpm(t, ['start'], { PORT: String(port) });
      await npm.waitForOutput(/all 2 workers ready/, 'the demo cluster to be ready');
      assert.match((await get(port)).body, /^Hello from Qilin: worker [01] /, 'the script takes PORT from the environment');
      assert.ok(npm.primary !== null && npm.workers.length === 2, npm.output);

      npm.child.kill(signal);
      await within(20_000, 'npm to exit', npm.exited);
      // The signal itself reached qilin (npm's shell replaced itself with it), not only npm's shell.
      assert.match(npm.output, new RegExp(`\\[qilin\\] ${signal}: shutting down gracefully`));
      assert.match(npm.output, /\[qilin\] stopped: every worker has exited/);
      await nothingLeft(npm, port);
    });
  }

  test('SIGTERM to `npx qilin`: its shell dies of it unpassed, and qilin, seeing that, stops gracefully with its workers', TIMEOUT, async (t) => {
    const port = await freePort();
    const app = path.join(root, 'examples', 'hello', 'server.js');
    const npm = startNpm(t, ['exec', '--no', '--', 'qilin', '-w', '2', '--env', `PORT=${port}`, app], {}, projectUsingQilin(t));
    await npm.waitForOutput(/all 2 workers ready/, 'the cluster to be ready');
    assert.ok(npm.primary !== null && npm.workers.length === 2, npm.output);

    npm.child.kill('SIGTERM');
    await within(20_000, 'npm to exit', npm.exited);
    await npm.waitForOutput(/\[qilin\] stopped: every worker has exited/, 'qilin to stop');
    assert.match(npm.output, /warn: the process that ran qilin for npm \(pid \d+\) has exited: stopping gracefully, as on SIGTERM/);
    await nothingLeft(npm, port);
  });
});
