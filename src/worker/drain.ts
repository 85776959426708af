// Retires a worker's servers without losing a request: stop accepting, let requests finish, close keep-alive connections only after their last response.
import type http from 'node:http';
import type { Http2Session } from 'node:http2';
import net from 'node:net';
import {
  type HandOver,
  HANDOVER_IDLE,
  type Tracked,
  answerThrowingRequests,
  handsOver,
  idleLimit,
  isUpgraded,
  keepAliveOff,
  isTls,
  kindOf,
  now,
  remember,
  responseOn,
  speaksHttp2,
} from './connections.js';
import { dropSocketsOf } from './adopted.js';
import { Recycler } from './recycle.js';

export { IDLE_GRACE, idleLimit, now, type HandOver } from './connections.js';

/** How long an HTTP/1 socket has been idle while draining: since when, and how many bytes it had read then. */
interface IdleMark {
  since: number;
  bytesRead: number;
}

/** What a deadline ended: open connections (upgraded ones, such as WebSockets, included), and HTTP/1 requests still being answered on them. */
export interface Cut {
  requests: number;
  connections: number;
}

/** How often a draining worker checks whether its connections are done. */
const DRAIN_TICK = 25;
const noop = (): void => {};

/** Every server this worker listens on, and their connections, so they can be drained on retirement. */
export class ServerRegistry {
  /** The servers listening now. */
  readonly #servers = new Map<net.Server, Tracked>();
  /** Every server ever instrumented, so one that closes and listens again is not instrumented twice. */
  readonly #instrumented = new WeakMap<net.Server, Tracked>();
  #draining = false;
  /** Idle connections to close on the next turn of the event loop, unless a request has come on them by then. */
  readonly #closing = new Set<net.Socket>();
  /** Idle connections that could not be handed over: they wait for their idle limit instead. */
  readonly #kept = new WeakSet<net.Socket>();
  /** Connections asked to reconnect (`recycle`), and new ones passed on to rebalance (`passNew`). */
  readonly #recycler = new Recycler();

  /** Starts tracking a server's connections; called when it listens. */
  track(server: net.Server): void {
    if (this.#servers.has(server)) return;
    const known = this.#instrumented.get(server);
    if (known) {
      this.#servers.set(server, known);
      server.once('close', () => this.#servers.delete(server));
      return;
    }
    const kind = kindOf(server);
    const sockets = new Set<net.Socket>();
    const secure = kind !== 'net' && isTls(server);
    const httpSockets = secure ? new Set<net.Socket>() : kind === 'http' ? sockets : new Set<net.Socket>();
    const tracked: Tracked = { server, kind, sockets, httpSockets, sessions: new Set(), port: null };
    this.#servers.set(server, tracked);
    this.#instrumented.set(server, tracked);
    server.on('listening', () => {
      const address = server.address();
      tracked.port = address !== null && typeof address === 'object' ? address.port : null;
    });
    const remembered = remember(sockets);
    // Plain HTTP/1 connections may be passed on to rebalance (`passNew`), once remembered.
    const onConnection =
      kind === 'http'
        ? (socket: net.Socket) => {
            remembered(socket);
            if (this.#recycler.passing) this.#recycler.accepted(tracked, socket, this.#draining);
          }
        : remembered;
    server.on('connection', onConnection);
    if (secure) server.on('secureConnection', remember(tracked.httpSockets));
    if (kind === 'http') answerThrowingRequests(server as http.Server);
    if (kind === 'http2') {
      server.on('session', (session: Http2Session) => {
        tracked.sessions.add(session);
        session.once('close', () => tracked.sessions.delete(session));
        // A session set up after retirement began (its TLS handshake was under way) gets its GOAWAY too.
        if (this.#draining) session.close();
      });
    }
    server.once('close', () => this.#servers.delete(server));
  }

  get size(): number {
    return this.#servers.size;
  }

  /** The TCP connections open now on every server listening, whatever they speak. */
  openConnections(): number {
    let open = 0;
    for (const tracked of this.#servers.values()) open += tracked.sockets.size;
    return open;
  }

  /**
   * Asks HTTP/1 clients connected now to come back on a new connection: the next response on each of these
   * connections goes with `Connection: close`, once (connections made from now on are left alone). Nothing is
   * cut, since that response is whole; the client's next request goes on a new connection, to whichever worker
   * takes it (a canary, so that it is judged by keep-alive clients too; an idle worker, when rebalancing).
   * HTTP/2 and upgraded connections are left alone, and so are those already asked. With `only`, just the
   * connections it accepts, and at most `limit` of them. Returns how many connections were marked.
   */
  recycle(limit = Number.POSITIVE_INFINITY, only?: (socket: net.Socket) => boolean): number {
    return this.#recycler.recycle(this.#servers.values(), limit, only);
  }

  /** How many of this worker's HTTP/1 connections `recycle()` could ask to reconnect and `only` accepts: its share of the load, for rebalancing. */
  recyclable(only: (socket: net.Socket) => boolean): number {
    return this.#recycler.recyclable(this.#servers.values(), only);
  }

  /**
   * Rebalancing: the next `count` connections that plain HTTP/1 servers accept within `windowMs` go on through
   * `pass` (to the primary, which gives them to an idler worker), before anything is read from them. They are
   * the clients `recycle()` asked to reconnect, when the kernel gives them back to this worker.
   */
  passNew(count: number, windowMs: number, pass: HandOver): void {
    this.#recycler.passNew(count, windowMs, pass);
  }

  /** A server of any kind listening on `port` now (to accept on another slot's socket for it). */
  listeningOn(port: number): net.Server | null {
    for (const tracked of this.#servers.values()) if (tracked.port === port && tracked.server.listening) return tracked.server;
    return null;
  }

  /** The plain HTTP/1 server listening (or draining) on `port`, which can take a connection handed over from a retiring worker. */
  serverOn(port: number): net.Server | null {
    for (const tracked of this.#servers.values()) if (tracked.port === port && handsOver(tracked)) return tracked.server;
    return null;
  }

  /**
   * Stops accepting on every server and waits until their requests are done: HTTP/1 connections close
   * after their next response (sent with `Connection: close`), or once they have been idle for their
   * server's `idleLimit`, but no later than half the time to `deadline` (the shutdown hooks get the rest);
   * HTTP/2 sessions after a GOAWAY once their streams end. Upgraded sockets are not waited for. Resolves
   * when done or at `deadline` (on the `now()` clock), whichever is first.
   *
   * With `handOver` (other workers stay to serve), an idle plain-HTTP connection is passed on to one of them
   * after `HANDOVER_IDLE` instead of being closed: nothing can then race its client's next request.
   */
  drain(deadline: number, handOver?: HandOver): Promise<void> {
    this.#draining = true;
    for (const tracked of this.#servers.values()) this.#stopAccepting(tracked);
    const start = now();
    const cap = Math.max(0, deadline - start) / 2;
    const marks = new Map<net.Socket, IdleMark>();
    for (const tracked of this.#servers.values()) {
      for (const socket of tracked.httpSockets) marks.set(socket, { since: start, bytesRead: socket.bytesRead });
    }
    return this.#until(deadline, () => {
      this.#closeIdle(marks, cap, handOver);
      for (const tracked of this.#servers.values()) if (!this.#requestsDone(tracked)) return false;
      return true;
    });
  }

  /** Waits until every connection, upgraded ones included, has closed, or until `deadline`; then destroys what is left and says what that was. */
  async settle(deadline: number): Promise<Cut> {
    await this.#until(deadline, () => [...this.#servers.values()].every((t) => t.sockets.size === 0 && t.sessions.size === 0));
    return this.destroyAll();
  }

  /** Destroys every connection left, for the deadline; returns how many there were, and how many of them had a request under way. */
  destroyAll(): Cut {
    const cut = { requests: 0, connections: 0 };
    for (const tracked of this.#servers.values()) {
      cut.connections += tracked.sockets.size;
      for (const socket of tracked.httpSockets) if (!socket.destroyed && responseOn(socket) !== null) cut.requests += 1;
      for (const session of tracked.sessions) session.destroy();
      for (const socket of tracked.sockets) socket.destroy();
      for (const socket of tracked.httpSockets) socket.destroy();
    }
    return cut;
  }

  #stopAccepting(tracked: Tracked): void {
    const { server } = tracked;
    if (tracked.kind !== 'net') {
      // Node's close() (and cluster's disconnect, which calls it) destroys idle keep-alive sockets at once,
      // including ones a client has just written its next request on. Idle ones are closed here instead.
      const httpServer = server as http.Server;
      if (typeof httpServer.closeIdleConnections === 'function') httpServer.closeIdleConnections = noop;
      // An HTTP/2 server has HTTP/1 requests only through 'request' listeners (`allowHTTP1`); adding one to a
      // server that uses 'stream' alone would switch on Node's compatibility layer, so none is added there.
      if (tracked.kind === 'http' || server.listenerCount('request') > 0) server.prependListener('request', keepAliveOff);
      for (const socket of tracked.httpSockets) {
        const response = responseOn(socket);
        if (response && !response.headersSent) response.shouldKeepAlive = false;
      }
    }
    for (const session of tracked.sessions) {
      if (!session.closed && !session.destroyed) session.close();
    }
    dropSocketsOf(server);
    try {
      net.Server.prototype.close.call(server);
    } catch {
      // Not listening any more: nothing to stop.
    }
  }

  /**
   * Closes each HTTP/1 connection that has been idle for its server's `idleLimit` (at most `cap`): no response under way and no
   * byte received for that long, counted from the last time it was seen busy, or from when retirement
   * began (or it was first seen, for one whose TLS handshake ended later). A connection whose last response
   * went out with keep-alive (it began before retirement) thus gets the whole limit too, for the request its
   * client may send next.
   *
   * "No byte received" is what this process has read. A request the client has sent may still be in the
   * kernel, unread: after the event loop was blocked (a slow handler, a long GC), timers run before pending
   * input is read, so the connection looks idle here while its request waits. The close is therefore made
   * on the next turn of the loop, after input has been read, and only if the connection still has nothing.
   */
  #closeIdle(marks: Map<net.Socket, IdleMark>, cap: number, handOver: HandOver | undefined): void {
    const time = now();
    for (const tracked of this.#servers.values()) {
      const limit = Math.min(idleLimit(tracked.server), cap);
      const port = tracked.port;
      const pass = handOver !== undefined && port !== null && handsOver(tracked) ? (socket: net.Socket) => handOver(socket, port) : null;
      for (const socket of tracked.httpSockets) {
        if (socket.destroyed || isUpgraded(socket) || speaksHttp2(socket)) continue;
        const bytesRead = socket.bytesRead;
        let mark = marks.get(socket);
        if (!mark) {
          mark = { since: time, bytesRead };
          marks.set(socket, mark);
        }
        if (responseOn(socket) !== null || bytesRead !== mark.bytesRead) {
          mark.since = time;
          mark.bytesRead = bytesRead;
        } else if (pass !== null && !this.#kept.has(socket) && time - mark.since >= Math.min(HANDOVER_IDLE, limit)) {
          this.#closeIfStillIdle(socket, mark, pass);
        } else if (time - mark.since >= limit) {
          this.#closeIfStillIdle(socket, mark, null);
        }
      }
    }
  }

  /**
   * Destroys `socket` (or, with `pass`, hands it over) on the next turn of the event loop, after pending
   * input has been read, if it has still read nothing and has no response under way. One that cannot be
   * handed over is kept, to be closed at its idle limit like any other.
   */
  #closeIfStillIdle(socket: net.Socket, mark: IdleMark, pass: ((socket: net.Socket) => boolean) | null): void {
    if (this.#closing.has(socket)) return;
    this.#closing.add(socket);
    // setImmediate runs after the poll phase, where libuv reads what the kernel holds for this socket.
    setImmediate(() => {
      this.#closing.delete(socket);
      if (socket.destroyed) return;
      if (responseOn(socket) !== null || socket.bytesRead !== mark.bytesRead) {
        mark.since = now();
        mark.bytesRead = socket.bytesRead;
        return;
      }
      if (pass === null) socket.destroy();
      else if (!pass(socket)) this.#kept.add(socket);
    });
  }

  #requestsDone(tracked: Tracked): boolean {
    if (tracked.sessions.size > 0) return false;
    let upgraded = 0;
    for (const socket of tracked.httpSockets) if (isUpgraded(socket)) upgraded += 1;
    return tracked.sockets.size <= upgraded;
  }

  #until(deadline: number, done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (done() || now() >= deadline) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(check, DRAIN_TICK);
      check();
    });
  }
}
