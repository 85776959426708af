// Opening the admin server's socket: TCP as asked, or a Unix socket created with mode 0600 after a stale one is removed safely, and removed at close only if it is still this one.
import { randomBytes } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { chmod, link, lstat, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import net from 'node:net';
import { type AdminAddress, isLoopbackHost } from './address.js';

/** How long to try a socket file found in the way before deciding nothing serves it. */
const PROBE_TIMEOUT = 1_000;

function errorWithCode(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** True when something accepts connections on the Unix socket `file`. */
function socketInUse(file: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(file);
    const done = (settle: () => void): void => {
      socket.destroy();
      clearTimeout(timer);
      settle();
    };
    // A listener too busy to accept within the probe still owns the socket: leave it alone.
    const timer = setTimeout(() => done(() => resolve(true)), PROBE_TIMEOUT);
    socket.once('connect', () => done(() => resolve(true)));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') done(() => resolve(false));
      else done(() => reject(error));
    });
  });
}

/**
 * Removes a Unix socket left behind by a process that died without closing it. Anything else at that path
 * (a regular file, a directory, a socket something still serves) is an error, never deleted.
 */
export async function removeStaleSocket(file: string): Promise<void> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw errorWithCode('EEXIST', `${file} exists and is not a socket; it is left as it is`);
  if (await socketInUse(file)) throw errorWithCode('EADDRINUSE', `another process is listening on ${file}`);
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function listening(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
  });
}

/** Where the server listens now (the port chosen when 0 was asked). */
export function boundAddress(server: Server, asked: AdminAddress): AdminAddress {
  const address = server.address();
  if (asked.kind === 'unix' || address === null || typeof address === 'string') return asked;
  return { kind: 'tcp', host: address.address, port: address.port };
}

/** The Unix socket file a server created, known by device and inode: what is at its path later may be another's. */
export interface OwnSocket {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** Where the server listens, and the socket file it created, if it is a Unix socket. */
export interface Listening {
  readonly address: AdminAddress;
  readonly socket: OwnSocket | null;
}

/**
 * Removes the Unix socket file `socket` names if it is still that very file. Node removes a Unix socket's path
 * when its server closes, whatever is there by then (another instance's live socket, after this one's was
 * deleted); `listen` binds under a temporary name for that reason, and this removes the real one.
 */
export function removeOwnSocket(socket: OwnSocket): void {
  try {
    const stat = lstatSync(socket.path);
    if (stat.isSocket() && stat.dev === socket.dev && stat.ino === socket.ino) unlinkSync(socket.path);
  } catch {
    // Gone already, or not ours to remove.
  }
}

/** The longest path a Unix socket can be bound to (sun_path is 108 bytes on Linux, 104 on macOS, with its NUL). */
const MAX_SOCKET_PATH = 103;

async function listenUnix(server: Server, file: string): Promise<OwnSocket> {
  await removeStaleSocket(file);
  // Bound under a temporary name, then linked to its own: Node's close removes only the temporary name,
  // which is gone by then. A path too long for the suffix is bound directly.
  const suffixed = `${file}.${randomBytes(4).toString('hex')}`;
  const bindTo = Buffer.byteLength(suffixed) <= MAX_SOCKET_PATH ? suffixed : file;
  const ready = listening(server);
  let previous: number | undefined;
  // The umask is process-wide; a file another thread creates in this instant is only made stricter.
  try {
    previous = process.umask(0o177);
  } catch {
    // Worker threads cannot change the umask; the chmod below still applies.
  }
  try {
    server.listen(bindTo);
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  await ready;
  await chmod(bindTo, 0o600);
  if (bindTo !== file) {
    try {
      // link(2) never replaces what is there: another instance that took the path meanwhile keeps it.
      await link(bindTo, file);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw errorWithCode('EADDRINUSE', `another process took ${file} while this one was starting`);
      throw error;
    } finally {
      await unlink(bindTo).catch(() => {});
    }
  }
  const stat = await lstat(file);
  return { path: file, dev: stat.dev, ino: stat.ino };
}

/**
 * Starts `server` listening on `address`. A Unix socket is bound under umask 0177, so it is never open to
 * others even for an instant (bind happens synchronously inside `listen`), then chmod'ed to 0600 in case
 * the umask could not be set. With `localOnly`, a host name that resolved to a non-loopback address is
 * refused after the fact.
 */
export async function listen(server: Server, address: AdminAddress, localOnly: boolean): Promise<Listening> {
  if (address.kind === 'unix') return { address, socket: await listenUnix(server, address.path) };
  const ready = listening(server);
  server.listen(address.port, address.host);
  await ready;
  const bound = boundAddress(server, address);
  if (localOnly && bound.kind === 'tcp' && !isLoopbackHost(bound.host)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw errorWithCode('EACCES', `${address.host} resolved to ${bound.host}, which is not a loopback address, and no credentials are set`);
  }
  return { address: bound, socket: null };
}

/**
 * Starts `server` on the listening socket at descriptor `fd`, which an old primary bound to `address` and
 * handed over: no new bind, so no moment without a listener. A Unix socket's file is this one's from now on.
 */
export async function listenOn(server: Server, fd: number, address: AdminAddress): Promise<Listening> {
  const ready = listening(server);
  server.listen({ fd });
  await ready;
  if (address.kind === 'unix') {
    const stat = await lstat(address.path);
    return { address, socket: { path: address.path, dev: stat.dev, ino: stat.ino } };
  }
  return { address: boundAddress(server, address), socket: null };
}
