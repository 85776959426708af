// Connections the primary accepts and relays to this worker (balance 'round-robin'): the server on that socket takes each as if it had accepted it, and the primary hears which were taken, so it can close its copy or give one to another worker.
import type net from 'node:net';
import { type ConnMessage, isCommand } from '../protocol.js';
import { refuse } from './handover.js';

/** The part of libuv's TCP handle a listening `net.Server` uses here. */
interface ListenHandle {
  listen(backlog: number): number;
  onconnection?: (status: number, client: unknown) => void;
}

type Send = (message: object) => Promise<void>;

/** The servers whose connections the primary relays, by the key of their socket in the primary's table. */
const relayed = new Map<string, net.Server>();

/**
 * Makes `server` a relayed one: it listens on `socket` (its address, its close and its `listening` are the
 * socket's), but never accepts on it, since libuv's `listen` is not called; the primary accepts instead and
 * relays each connection here with `key`.
 */
export function relayTo(server: net.Server, socket: unknown, key: string): void {
  (socket as ListenHandle).listen = () => 0;
  relayed.set(key, server);
  server.once('close', () => {
    if (relayed.get(key) === server) relayed.delete(key);
  });
}

/** A server that takes no more connections: node's own accept would close one past `maxConnections`. */
function isFull(server: net.Server): boolean {
  const { maxConnections } = server;
  const open = (server as unknown as { _connections?: number })._connections ?? 0;
  return typeof maxConnections === 'number' && Number.isFinite(maxConnections) && maxConnections >= 0 && open >= maxConnections;
}

let taken: number[] = [];
let refused: number[] = [];
let acknowledging = false;

/**
 * Takes a relayed connection (a ConnMessage with its handle): the server's own `onconnection`, as libuv would
 * call it after an accept, so every server option applies (pauseOnConnect, noDelay, keepAlive, allowHalfOpen,
 * TLS and HTTP/2 above it). One the server cannot take (it has closed, or is full) is refused, and the primary
 * relays it to another worker. The answers of one turn of the event loop go back in one message. True when
 * `message` was a ConnMessage.
 */
export function takeRelayed(message: unknown, handle: unknown, send: Send): boolean {
  if (!isCommand(message, 'qilin:conn')) return false;
  const { seq, key } = message as unknown as ConnMessage;
  if (typeof seq !== 'number') return true;
  const server = relayed.get(key);
  const own = (server as unknown as { _handle?: ListenHandle | null } | undefined)?._handle;
  if (!server || !handle || typeof own?.onconnection !== 'function' || isFull(server)) {
    refused.push(seq);
    refuse(handle);
  } else {
    taken.push(seq);
    own.onconnection(0, handle);
  }
  if (!acknowledging) {
    acknowledging = true;
    setImmediate(() => {
      acknowledging = false;
      const answer = { cmd: 'qilin:taken', taken, refused };
      taken = [];
      refused = [];
      void send(answer);
    });
  }
  return true;
}
