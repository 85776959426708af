// Helpers for tests that run the built `qilin` command: spawn it, read its JSON log lines, wait with bounds, clean up every process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

import { get, type Reply } from '../http.js';
import { until, within } from '../wait.js';

export { get, type Reply, until, within };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built command. Tests run `npm run build` first. */
export const BIN = path.join(root, 'dist', 'cli.js');

export function fixture(name: string): string {
  return path.join(root, 'test', 'fixtures', 'cli', name);
}

/** A port free right now: listen on 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A temporary folder, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qilin-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Copies the identity server into `file` with the given VERSION, so a reload has new code to load. */
export function writeApp(file: string, version: string): void {
  writeFileSync(file, readFileSync(fixture('identity-server.cjs'), 'utf8').replace("const VERSION = 'v1';", `const VERSION = '${version}';`));
}

/** A temporary folder holding app.cjs, the identity server at version v1; removed when the test ends. */
export function appInTempDir(t: TestContext): { dir: string; app: string } {
  const dir = tempDir(t);
  const app = path.join(dir, 'app.cjs');
  writeApp(app, 'v1');
  return { dir, app };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One JSON log line of the command. */
export interface LogRecord {
  readonly time: string;
  readonly level: string;
  readonly msg: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `qilin` process, its output, and its JSON log records. */
export class QilinProcess {
  readonly child: ChildProcess;
  readonly records: LogRecord[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  #exit: Exit | null = null;

  constructor(child: ChildProcess) {
    this.child = child;
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.stdout += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          this.records.push(JSON.parse(line) as LogRecord);
        } catch {
          // A worker's own line that happens to start with a brace.
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // 'close', not 'exit': the output is complete only once stdout and stderr have ended.
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** Every worker pid the command reported forking. */
  workerPids(): number[] {
    return this.records.filter((r) => r.event === 'fork' && typeof r.pid === 'number').map((r) => r.pid as number);
  }

  count(event: string, filter: (r: LogRecord) => boolean = () => true): number {
    return this.records.filter((r) => r.event === event && filter(r)).length;
  }

  /** The first record (from index `from` on) of `event` that passes `filter`, within `ms`. */
  async waitFor(event: string, filter: (r: LogRecord) => boolean = () => true, ms = 10_000, from = 0): Promise<LogRecord> {
    let found: LogRecord | undefined;
    await until(
      `a "${event}" log line from qilin`,
      () => {
        found = this.records.slice(from).find((r) => r.event === event && filter(r));
        if (!found && !this.running)
          throw new Error(`qilin exited (${JSON.stringify(this.#exit)}) before a "${event}" line.\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
        return found !== undefined;
      },
      ms,
    );
    return found as LogRecord;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Waits for the command to exit, within `ms`. */
  waitExit(ms = 15_000): Promise<Exit> {
    return within(ms, 'qilin to exit', this.exited);
  }
}

/**
 * Starts the built command with `args`. When the test ends, pass or fail, the command and every worker it
 * reported are killed.
 */
export function startQilin(t: TestContext, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): QilinProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, NODE_ENV: 'test', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchQilin(t, child);
}

/** A qilin process started some other way (through a shell, with descriptors of its own): killed with every worker it reported when the test ends. */
export function watchQilin(t: TestContext, child: ChildProcess): QilinProcess {
  const qilin = new QilinProcess(child);
  t.after(async () => {
    if (qilin.running) child.kill('SIGKILL');
    for (const pid of qilin.workerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await within(5_000, 'the killed qilin to exit', qilin.exited).catch(() => {});
  });
  return qilin;
}

/**
 * Kills, when the test ends, every primary and worker `qilin` logged (`start` and `fork` lines): a primary
 * started by an upgrade, and its workers, are not the test's children.
 */
export function killLoggedAtEnd(t: TestContext, qilin: QilinProcess): void {
  t.after(() => {
    for (const record of qilin.records.filter((r) => r.event === 'start' || r.event === 'fork')) {
      try {
        process.kill(record.pid as number, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  });
}

/** Runs the command to completion (for --help, errors), within `ms`. */
export async function runQilin(
  t: TestContext,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ms = 15_000,
): Promise<QilinProcess & { exit: Exit }> {
  const qilin = startQilin(t, args, options);
  const exit = await qilin.waitExit(ms);
  return Object.assign(qilin, { exit });
}

/** Parses the fixture's answer `slot=0 generation=1 pid=123 version=v1`. */
export function parseIdentity(body: string): Record<string, string> {
  return Object.fromEntries(
    body
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split('=') as [string, string]),
  );
}
