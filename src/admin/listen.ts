// Opening the admin server's socket: TCP as asked, or a Unix socket created with mode 0600 after a stale one is removed safely.
import { chmod, lstat, unlink } from 'node:fs/promises';
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
  let stat;
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

/**
 * Starts `server` listening on `address`. A Unix socket is bound under umask 0177, so it is never open to
 * others even for an instant (bind happens synchronously inside `listen`), then chmod'ed to 0600 in case
 * the umask could not be set. With `localOnly`, a host name that resolved to a non-loopback address is
 * refused after the fact.
 */
export async function listen(server: Server, address: AdminAddress, localOnly: boolean): Promise<AdminAddress> {
  if (address.kind === 'unix') {
    await removeStaleSocket(address.path);
    const ready = listening(server);
    let previous: number | undefined;
    // The umask is process-wide; a file another thread creates in this instant is only made stricter.
    try {
      previous = process.umask(0o177);
    } catch {
      // Worker threads cannot change the umask; the chmod below still applies.
    }
    try {
      server.listen(address.path);
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
    await ready;
    await chmod(address.path, 0o600);
    return address;
  }
  const ready = listening(server);
  server.listen(address.port, address.host);
  await ready;
  const bound = boundAddress(server, address);
  if (localOnly && bound.kind === 'tcp' && !isLoopbackHost(bound.host)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw errorWithCode('EACCES', `${address.host} resolved to ${bound.host}, which is not a loopback address, and no credentials are set`);
  }
  return bound;
}
