// A TCP listen in a worker, served from the primary's own socket for that address: the runtime asks the primary for it over IPC, then listens on the copy it is sent and tells the primary so (node:cluster does not see such a listen); with round-robin the copy is not accepted on here, the primary relays its connections.
import dns from 'node:dns';
import net from 'node:net';
import { type SocketMessage, isCommand } from '../protocol.js';
import { type TcpListen, readTcpListen } from '../sockets/listen-args.js';
import { relayTo } from './relayed.js';

type Send = (message: object, handle?: unknown) => Promise<void>;
/** How connections on the primary's sockets reach this worker: it accepts them itself (balance 'kernel' or 'reuseport'), or the primary relays them (round-robin). */
export type OwnSockets = 'kernel' | 'round-robin';
type Listen = (this: net.Server, ...args: unknown[]) => net.Server;

const waiting = new Map<number, (reply: SocketMessage, socket: unknown) => void>();
/** balance 'reuseport': this worker's slot sockets, by their key in the primary's table, for a fresh copy it asks for. */
const slotSockets = new Map<string, unknown>();

/** This worker's copy of its slot socket `key`; undefined if it listens on none such. */
export function slotSocketCopy(key: string): unknown {
  return slotSockets.get(key);
}
let nextId = 1;

/**
 * A failed bind as node:cluster reports one to a worker (`bind EADDRINUSE null:8000`, the address null for every
 * address), with code, errno, syscall, address and port, so an app that reads them sees what it saw before.
 */
function bindError(failure: NonNullable<SocketMessage['error']>): NodeJS.ErrnoException & { address: string | null; port: number } {
  const error = new Error(`bind ${failure.code} ${failure.address}:${failure.port}`) as NodeJS.ErrnoException & { address: string | null; port: number };
  Object.assign(error, { code: failure.code, errno: failure.errno, syscall: 'bind', address: failure.address, port: failure.port });
  return error;
}

/** The failure for a reply that brought neither a socket nor an error (the primary lost the copy). */
function noSocket(address: string | null, port: number): NonNullable<SocketMessage['error']> {
  return { code: 'EBADF', errno: -9, syscall: 'bind', address, port };
}

/** Passes the primary's answer to the listen that asked; true when `message` was one. */
export function takeSocketReply(message: unknown, socket: unknown): boolean {
  if (!isCommand(message, 'qilin:socket')) return false;
  const reply = message as unknown as SocketMessage;
  const resolve = waiting.get(reply.id);
  waiting.delete(reply.id);
  resolve?.(reply, socket);
  return true;
}

function askPrimary(send: Send, address: string | null, port: number, index: number): Promise<{ reply: SocketMessage; socket: unknown }> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, (reply, socket) => resolve({ reply, socket }));
    void send({ cmd: 'qilin:socket-request', id, address, port, index });
  });
}

/**
 * The listens open in this worker per address and port, numbered as node:cluster numbers them: the first
 * listen on an address in every worker shares one socket, and a second server on it in the same worker asks
 * for a socket of its own (another port for port 0; EADDRINUSE for a fixed port, as without Qilin).
 */
const indexes = new Map<string, Set<number>>();

function takeIndex(key: string): number {
  let used = indexes.get(key);
  if (!used) {
    used = new Set();
    indexes.set(key, used);
  }
  let index = 0;
  while (used.has(index)) index += 1;
  used.add(index);
  return index;
}

function releaseIndex(key: string, index: number): void {
  const used = indexes.get(key);
  used?.delete(index);
  if (used?.size === 0) indexes.delete(key);
}

function lookup(host: string): Promise<string> {
  if (net.isIP(host) !== 0) return Promise.resolve(host);
  return new Promise((resolve, reject) => dns.lookup(host, (error, address) => (error ? reject(error) : resolve(address))));
}

/** Servers with a listen under way through the primary, so a second `listen()` meanwhile is Node's to refuse. */
const pendingListens = new WeakSet<net.Server>();

/**
 * Listens `server` on the primary's socket when `args` are a TCP listen the primary can serve (see
 * readTcpListen) and the IPC channel is up; returns false to leave the listen to Node (and node:cluster) as it is.
 */
export function listenOnPrimarySocket(server: net.Server, args: readonly unknown[], listen: Listen, send: Send, mode: OwnSockets): boolean {
  if (!process.connected || server.listening || pendingListens.has(server)) return false;
  const asked: TcpListen | null = readTcpListen(args);
  if (!asked) return false;
  pendingListens.add(server);
  if (asked.callback) server.once('listening', asked.callback);
  void (async () => {
    let address: string | null = null;
    try {
      if (asked.host !== null) address = await lookup(asked.host);
    } catch (error) {
      pendingListens.delete(server);
      server.emit('error', error);
      return;
    }
    const indexKey = `${address}:${asked.port}`;
    const index = takeIndex(indexKey);
    const { reply, socket } = await askPrimary(send, address, asked.port, index);
    pendingListens.delete(server);
    if (reply.error || socket === undefined || socket === null) {
      releaseIndex(indexKey, index);
      server.emit('error', bindError(reply.error ?? noSocket(address, asked.port)));
      return;
    }
    const relay = mode === 'round-robin' && typeof reply.relay === 'string' ? reply.relay : null;
    // Round-robin: the socket is this server's all the same (its address, its close), but not accepted on here.
    if (relay !== null) relayTo(server, socket, relay);
    // A raw handle: net listens on it in this process, without asking node:cluster (the primary made it).
    listen.call(server, socket, asked.backlog);
    const spare = typeof reply.spare === 'string' ? reply.spare : null;
    if (spare !== null) slotSockets.set(spare, socket);
    server.once('close', () => {
      releaseIndex(indexKey, index);
      if (spare !== null && slotSockets.get(spare) === socket) slotSockets.delete(spare);
    });
    server.once('listening', () => {
      const bound = server.address();
      if (bound === null || typeof bound === 'string') return;
      const address = { address: bound.address, port: bound.port, addressType: bound.family === 'IPv6' ? 6 : 4 };
      // With round-robin the socket goes back with the message: the primary's own copy to accept on; with
      // 'reuseport' too, the copy it accepts on while no worker of this slot does.
      if (relay !== null) void send({ cmd: 'qilin:listening', address, relay }, socket);
      else if (spare !== null) void send({ cmd: 'qilin:listening', address, spare }, socket);
      else void send({ cmd: 'qilin:listening', address });
    });
  })();
  return true;
}
