// Upgrading the primary without losing a request: the old one starts a new qilin from the files on disk with its listening sockets; the new one starts its workers on them and says so; the old one then retires its workers and exits. A new one that cannot start exits, and the old one keeps serving.
import { type ChildProcess, spawn } from 'node:child_process';
import { QilinError } from '../errors.js';
import { SOCKETS } from '../sockets/table.js';

/** The environment variable that carries the handover to the new primary. */
export const UPGRADE_ENV = 'QILIN_UPGRADE';

/** What an old primary hands the new one: its pid, its sockets (descriptor in the new one, key), and the admin interface's socket. */
export interface Handover {
  readonly from: number;
  readonly sockets: readonly { readonly fd: number; readonly key: string }[];
  readonly admin: { readonly fd: number; readonly address: string } | null;
}

/** When the old primary says that the new one is slow (not running yet, or its workers not ready yet). */
export const SLOW_UPGRADE_NOTICE = 5_000;

/** The first descriptor the sockets take in the new primary: 0-2 are stdio, 3 the channel to the old primary. */
const FIRST_FD = 4;

const isFd = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= FIRST_FD;

/** The handover in `env`, or null when this primary was not started by an upgrade (or what is there is not one). */
export function handoverFrom(env: Readonly<Record<string, string | undefined>>): Handover | null {
  const text = env[UPGRADE_ENV];
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<Handover>;
    const sockets = Array.isArray(value.sockets) ? value.sockets.filter((s) => isFd(s?.fd) && typeof s?.key === 'string') : [];
    const admin = value.admin && isFd(value.admin.fd) && typeof value.admin.address === 'string' ? value.admin : null;
    return typeof value.from === 'number' ? { from: value.from, sockets, admin } : null;
  } catch {
    return null;
  }
}

/** In the new primary: its workers' listens find the old primary's sockets. */
export function takeHandover(handover: Handover): void {
  for (const { fd, key } of handover.sockets) SOCKETS.inherit(fd, key);
}

/** In the new primary, first thing: tells the old one that it runs (so a slow upgrade can be told apart from a slow process start). */
export function reportRunning(): void {
  if (typeof process.send !== 'function' || !process.connected) return;
  try {
    process.send({ cmd: 'qilin:running', pid: process.pid });
  } catch {
    // The old primary has gone: this one's own start goes on, and says what happens.
  }
}

/**
 * In the new primary, once its workers serve: tells the old one. The channel stays open until the old one has
 * exited (it does not keep this process running): the idle keep-alive connections of the old workers come
 * through it, for `adopt` to give to a worker here.
 */
export function reportUpgraded(adopt: (port: number, connection: unknown) => void): void {
  if (typeof process.send !== 'function' || !process.connected) return;
  process.on('message', (message: unknown, connection: unknown) => {
    const { cmd, port } = (message ?? {}) as { cmd?: unknown; port?: unknown };
    if (cmd === 'qilin:handover' && typeof port === 'number') adopt(port, connection);
  });
  process.channel?.unref();
  process.send({ cmd: 'qilin:upgraded', pid: process.pid });
}

/** The new primary, as the old one sees it once it serves: its pid, and how to pass it an idle connection (false once the channel is gone). */
export interface NewPrimary {
  readonly pid: number;
  forward(port: number, connection: { close(): void }): boolean;
}

export interface UpgradeRequest {
  /** The command line the old primary was started with (without node and the script). */
  readonly argv: readonly string[];
  /** The admin interface's listening descriptor and its address, to serve on without a gap; null without one. */
  readonly admin: { readonly fd: number; readonly address: string } | null;
  /** How long the new primary gets to have its workers ready. */
  readonly timeoutMs: number;
  /** Called once if it does not serve within SLOW_UPGRADE_NOTICE ms: its pid, and whether its process has begun to run. */
  readonly onSlow?: (pid: number | undefined, running: boolean) => void;
}

/**
 * The node and the script to start the new primary with, as found now: `QILIN_NODE` if set, else the node this
 * one was started as (`node` is looked up on PATH again, so a new Node.js there is used); the script by the
 * path it was started by (npm's `.bin/qilin` link leads to the package installed now).
 */
export function newPrimaryCommand(env: Readonly<Record<string, string | undefined>> = process.env): { command: string; script: string } {
  return { command: env.QILIN_NODE || process.argv0 || process.execPath, script: process.argv[1] as string };
}

/**
 * In the old primary: starts the new one with every socket the workers use. Resolves once its workers are
 * ready; rejects with why when it exits first, cannot be started, or takes longer than `timeoutMs`
 * (then it is stopped). The old primary keeps serving either way until it is told to retire.
 */
export function startNewPrimary(request: UpgradeRequest): Promise<NewPrimary> {
  const sockets = SOCKETS.list();
  const fds = [...sockets.map((s) => s.fd), ...(request.admin ? [request.admin.fd] : [])];
  const handover: Handover = {
    from: process.pid,
    sockets: sockets.map((s, i) => ({ fd: FIRST_FD + i, key: s.key })),
    admin: request.admin ? { fd: FIRST_FD + sockets.length, address: request.admin.address } : null,
  };
  const { command, script } = newPrimaryCommand();
  const env: Record<string, string | undefined> = {
    ...process.env,
    [UPGRADE_ENV]: JSON.stringify(handover),
    // systemd's watchdog and sockets are the new primary's now (it tells systemd MAINPID=).
    WATCHDOG_PID: undefined,
    LISTEN_FDS: undefined,
    LISTEN_PID: undefined,
    LISTEN_FDNAMES: undefined,
  };
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, [...process.execArgv, script, ...request.argv], { stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds], env });
    } catch (error) {
      reject(new QilinError('ERR_QILIN_START_FAILED', `the new primary could not be started: ${(error as Error).message}`));
      return;
    }
    let settled = false;
    let running = false;
    const slow = setTimeout(() => request.onSlow?.(child.pid, running), SLOW_UPGRADE_NOTICE);
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(slow);
      reject(new QilinError('ERR_QILIN_START_FAILED', why));
    };
    const timer = setTimeout(() => {
      fail(`the new primary (pid ${child.pid}) was not ready within ${Math.round(request.timeoutMs / 1000)} s; it is being stopped`);
      child.kill('SIGTERM');
    }, request.timeoutMs);
    child.on('error', (error) => fail(`the new primary could not be started (${command}): ${error.message}`));
    child.on('exit', (code, signal) =>
      fail(
        `the new primary (pid ${child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before its workers were ready (its own lines above say why)`,
      ),
    );
    child.on('message', (message: unknown) => {
      const cmd = (message as { cmd?: unknown })?.cmd;
      if (cmd === 'qilin:running') running = true;
      const pid = cmd === 'qilin:upgraded' ? (message as { pid?: unknown }).pid : undefined;
      if (typeof pid !== 'number' || settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(slow);
      // It runs on by itself from now on: this primary's exit must not wait for it, nor end it. The channel
      // stays, unreferenced, for the idle connections of this primary's workers; it closes when this one exits.
      child.removeAllListeners('exit');
      child.unref();
      child.channel?.unref();
      const forward = (port: number, connection: { close(): void }): boolean => {
        if (!child.connected) return false;
        try {
          child.send({ cmd: 'qilin:handover', port }, connection as never, {}, () => connection.close());
          return true;
        } catch {
          return false;
        }
      };
      resolve({ pid, forward });
    });
  });
}
