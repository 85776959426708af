// systemd's socket activation: the listening sockets a `.socket` unit passed this process (LISTEN_FDS from descriptor 3, for LISTEN_PID), taken into the primary's table once, so the app's listen() on their address uses them.
import { type BindAddress, socketKey } from './listen-args.js';
import { SOCKETS, type SocketTable } from './table.js';

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

export interface ActivationEnvironment {
  readonly LISTEN_FDS?: string | undefined;
  readonly LISTEN_PID?: string | undefined;
  readonly LISTEN_FDNAMES?: string | undefined;
}

/** The descriptors passed to process `pid`: none unless LISTEN_PID names it (they were meant for another process otherwise). */
export function passedDescriptors(env: ActivationEnvironment, pid: number): number[] {
  if (env.LISTEN_PID !== String(pid)) return [];
  const count = Number(env.LISTEN_FDS);
  if (!Number.isSafeInteger(count) || count <= 0 || count > 1_024) return [];
  return Array.from({ length: count }, (_, i) => LISTEN_FDS_START + i);
}

/** What was taken, for the log: each socket's address and its name from LISTEN_FDNAMES; and the descriptors that were not TCP sockets. */
export interface Activation {
  readonly sockets: readonly { readonly fd: number; readonly name: string | null; readonly address: string }[];
  readonly skipped: readonly number[];
}

const TAKEN = Symbol.for('qilin.sockets.activation');

/** Takes the sockets systemd passed into `table`, once per process; null when none were passed (or they were taken already). */
export function takePassedSockets(env: ActivationEnvironment = process.env, pid = process.pid, table: SocketTable = SOCKETS): Activation | null {
  const holder = globalThis as { [TAKEN]?: true };
  if (holder[TAKEN]) return null;
  const fds = passedDescriptors(env, pid);
  if (fds.length === 0) return null;
  holder[TAKEN] = true;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const sockets: { fd: number; name: string | null; address: string }[] = [];
  const skipped: number[] = [];
  for (const [i, fd] of fds.entries()) {
    const bound: BindAddress | null = table.adopt(fd);
    if (bound) sockets.push({ fd, name: names[i] || null, address: socketKey(bound).slice('tcp:'.length) });
    else skipped.push(fd);
  }
  return { sockets, skipped };
}

/**
 * systemd's socket activation for a cluster about to fork: the app's listen() on a passed socket's address
 * uses it. The workers' listens are served from the primary's sockets only with the runtime (in both
 * balancing modes); without it the passed sockets are left alone, with a warning.
 */
export function takeSocketsFor(runtime: boolean): void {
  if (runtime) {
    takePassedSockets();
    return;
  }
  if (passedDescriptors(process.env, process.pid).length === 0) return;
  process.emitWarning('systemd passed sockets (LISTEN_FDS), but they are used only with the worker runtime on; this cluster has runtime: false', {
    type: 'QilinWarning',
    code: 'QILIN_SOCKETS_UNUSED',
  });
}
