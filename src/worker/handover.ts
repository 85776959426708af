// Moves an idle keep-alive connection from a retiring worker to one that stays, through the primary: the client's next request is read by the new worker, on the connection it already has.
import net from 'node:net';

/** The part of libuv's TCP handle under a plain `net.Socket` used here. */
interface TcpHandle {
  readStop(): number;
  close(callback?: () => void): void;
}

/** The socket's TCP handle, if it is a plain TCP connection (not TLS, not a pipe) that can be sent over IPC. */
function tcpHandleOf(socket: net.Socket): TcpHandle | null {
  const handle = (socket as { _handle?: unknown })._handle as (TcpHandle & { constructor?: { name?: string } }) | null | undefined;
  if (handle?.constructor?.name !== 'TCP' || typeof handle.readStop !== 'function') return null;
  return handle;
}

/**
 * Sends `socket`'s connection to the primary, which passes it to a worker that stays and listens on `port`
 * (with `rebalance`, one of the idler workers the primary chose, for a connection just accepted).
 * Reading stops first, so whatever the client sends from now on stays in the kernel for the new worker to
 * read; this process closes its copy of the descriptor once it has been written to the IPC channel. Returns
 * false, and leaves the socket as it was, when it cannot be sent (TLS, no IPC channel).
 */
export function handOver(socket: net.Socket, port: number, rebalance = false): boolean {
  const handle = tcpHandleOf(socket);
  if (handle === null || typeof process.send !== 'function' || !process.connected) return false;
  handle.readStop();
  try {
    // A raw handle rather than the socket: node's socket transfer would also make this server count the
    // connection as its own until the receiver closes it, so the server could not report itself closed.
    process.send(rebalance ? { cmd: 'qilin:handover', port, rebalance } : { cmd: 'qilin:handover', port }, handle as unknown as net.Socket, {}, () =>
      socket.destroy(),
    );
  } catch {
    // The channel closed between the check and the write: close the connection, as a drain would.
    socket.destroy();
  }
  return true;
}

/** Connections this worker got from another: rebalancing does not pass them on again. */
export const adopted = new WeakSet<net.Socket>();

/**
 * Takes a connection handed over by a retiring worker: `server` gets it as a new connection, as if it had
 * accepted it (its connection count and the socket's `server` included), and reads the client's next request.
 */
export function adopt(server: net.Server, handle: unknown): void {
  const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
  adopted.add(socket);
  const accounted = server as unknown as { _connections: number };
  if (typeof accounted._connections === 'number') {
    accounted._connections += 1;
    (socket as unknown as { _server: net.Server })._server = server;
  }
  (socket as unknown as { server: net.Server }).server = server;
  server.emit('connection', socket);
}

/** Closes a connection this worker cannot take, handed over or relayed (no server for it here any more, or a full one). */
export function refuse(handle: unknown): void {
  if (handle && typeof (handle as TcpHandle).close === 'function') (handle as TcpHandle).close();
}
