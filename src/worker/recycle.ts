// Asking kept-alive HTTP/1 clients to come back on a new connection (for a canary, or to rebalance), and passing those that come back to this worker on to idler ones.
import type http from 'node:http';
import type net from 'node:net';
import { type HandOver, type Tracked, handsOver, isUpgraded, keepAliveOff, now, speaksHttp2 } from './connections.js';
import { adopted } from './handover.js';

/** The connections asked to reconnect, the servers looking out for their next request, and the new connections to pass on. */
export class Recycler {
  /** Connections whose next response goes with `Connection: close`, and the servers listening for it meanwhile. */
  readonly #recycling = new Set<net.Socket>();
  readonly #recycleOn = new Set<net.Server>();
  /** Rebalancing: how many more new connections to pass on unread, until when, and how. */
  #passing: { left: number; until: number; pass: HandOver } | null = null;

  /** See `ServerRegistry.recycle`: over `servers`, returns how many connections were marked. */
  recycle(servers: Iterable<Tracked>, limit: number, only?: (socket: net.Socket) => boolean): number {
    let marked = 0;
    for (const tracked of servers) {
      if (tracked.kind !== 'http') continue;
      for (const socket of this.#recyclable(tracked)) {
        if (marked >= limit) break;
        if (only && !only(socket)) continue;
        this.#recycling.add(socket);
        socket.once('close', () => this.#recycled(socket));
        marked += 1;
      }
      if (marked > 0 && !this.#recycleOn.has(tracked.server)) {
        this.#recycleOn.add(tracked.server);
        tracked.server.prependListener('request', this.#recycleOne);
      }
    }
    if (this.#recycling.size === 0) this.#recycled(null);
    return marked;
  }

  /** How many HTTP/1 connections of `servers` `recycle()` could ask to reconnect and `only` accepts. */
  recyclable(servers: Iterable<Tracked>, only: (socket: net.Socket) => boolean): number {
    let count = 0;
    for (const tracked of servers) {
      if (tracked.kind !== 'http') continue;
      for (const socket of this.#recyclable(tracked)) if (only(socket)) count += 1;
    }
    return count;
  }

  *#recyclable(tracked: Tracked): Iterable<net.Socket> {
    for (const socket of tracked.httpSockets) {
      if (!socket.destroyed && !isUpgraded(socket) && !speaksHttp2(socket) && !this.#recycling.has(socket)) yield socket;
    }
  }

  readonly #recycleOne = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    if (!this.#recycling.has(request.socket)) return;
    keepAliveOff(request, response);
    this.#recycled(request.socket);
  };

  /** `socket` needs no more recycling; once none does, the servers stop looking at each request for it. */
  #recycled(socket: net.Socket | null): void {
    if (socket) this.#recycling.delete(socket);
    if (this.#recycling.size > 0) return;
    for (const server of this.#recycleOn) server.off('request', this.#recycleOne);
    this.#recycleOn.clear();
  }

  /** See `ServerRegistry.passNew`. */
  passNew(count: number, windowMs: number, pass: HandOver): void {
    this.#passing = count > 0 ? { left: count, until: now() + windowMs, pass } : null;
  }

  /** Whether new connections are being passed on now: `accepted()` need not be called otherwise. */
  get passing(): boolean {
    return this.#passing !== null;
  }

  /** A plain HTTP/1 server of this worker accepted `socket`: passed on if new connections are, unless the worker is `draining`. */
  accepted(tracked: Tracked, socket: net.Socket, draining: boolean): void {
    const passing = this.#passing;
    if (passing === null) return;
    if (draining || now() > passing.until) {
      this.#passing = null;
      return;
    }
    // Nothing has been read from it yet: the connection event comes before the first read.
    if (tracked.port === null || !handsOver(tracked) || adopted.has(socket) || !passing.pass(socket, tracked.port)) return;
    passing.left -= 1;
    if (passing.left === 0) this.#passing = null;
  }
}
