// Balance 'reuseport': sockets of removed slots this worker accepts on beside its own, for the primary; each connection they accept goes to the server on that port, as if its own socket had accepted it, and they stop with it.
import type net from 'node:net';
import { BACKLOG } from '../sockets/listen-args.js';
import { refuse } from './handover.js';

/** The part of libuv's TCP handle used here: a copy of a slot's listening socket, sent by the primary. */
interface ListenHandle {
  listen(backlog: number): number;
  close(): void;
  onconnection: ((status: number, client: unknown) => void) | null;
}

const adopted = new Map<string, { readonly server: net.Server; readonly handle: ListenHandle }>();

/**
 * Accepts on `socket`, the slot socket `key`, for `server` (listening on that port here): true when it does.
 * Each connection goes through the server's own `onconnection`, so every server option applies (TLS, HTTP/2).
 */
export function adoptSocket(server: net.Server | null, key: string, socket: unknown): boolean {
  const handle = socket as Partial<ListenHandle> | null | undefined;
  if (!handle || typeof handle.listen !== 'function' || typeof handle.close !== 'function') return false;
  const listening = handle as ListenHandle;
  if (!server?.listening || adopted.has(key)) {
    listening.close();
    return false;
  }
  listening.onconnection = (status, client) => {
    const own = (server as unknown as { _handle?: { onconnection?: (status: number, client: unknown) => void } | null })._handle;
    // The server has stopped accepting meanwhile: the connection is closed, as its own socket's would be reset.
    if (typeof own?.onconnection === 'function') own.onconnection(status, client);
    else if (status === 0) refuse(client);
  };
  if (listening.listen(BACKLOG) !== 0) {
    listening.onconnection = null;
    listening.close();
    return false;
  }
  adopted.set(key, { server, handle: listening });
  server.once('close', () => dropSocketsOf(server));
  return true;
}

/** Stops accepting on the adopted socket `key` (the primary asked: the slot has a worker again). */
export function dropSocket(key: string): void {
  const entry = adopted.get(key);
  if (!entry) return;
  adopted.delete(key);
  entry.handle.onconnection = null;
  entry.handle.close();
}

/** `server` stops accepting (a drain, a close): so do the sockets it adopted. */
export function dropSocketsOf(server: net.Server): void {
  for (const [key, entry] of adopted) if (entry.server === server) dropSocket(key);
}

/** This worker's copy of the adopted socket `key`, for the primary to keep; undefined if it has none. */
export function adoptedCopy(key: string): unknown {
  return adopted.get(key)?.handle;
}
