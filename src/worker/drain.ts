// Retires a worker's servers without losing a request: stop accepting, let requests finish, close keep-alive connections only after their last response.
import http from 'node:http';
import https from 'node:https';
import type { Http2Session } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

type Kind = 'http' | 'http2' | 'net';

interface Tracked {
  readonly server: net.Server;
  readonly kind: Kind;
  /** TCP connections, as accepted. */
  readonly sockets: Set<net.Socket>;
  /**
   * The sockets HTTP/1 parses requests on: for http the very same set as `sockets`; for https, and for an
   * HTTP/2 server over TLS (whose `allowHTTP1` clients speak HTTP/1), the TLS sockets.
   */
  readonly httpSockets: Set<net.Socket>;
  readonly sessions: Set<Http2Session>;
}

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
/**
 * The least time a connection must have been idle, once retirement has begun, before it is closed: a client
 * that has just sent a request on it gets its answer. A connection of a server that advertises a longer
 * keep-alive timeout is kept open that long (see `idleLimit`).
 */
export const IDLE_GRACE = 1_000;

const noop = (): void => {};

/** Deadlines in the worker are on the monotonic clock, so a step of the system clock cannot cut a drain short. */
export const now = (): number => performance.now();

function kindOf(server: net.Server): Kind {
  if (server instanceof http.Server || server instanceof https.Server) return 'http';
  const name = server.constructor?.name;
  if (name === 'Http2Server' || name === 'Http2SecureServer') return 'http2';
  return 'net';
}

/** After an upgrade (WebSocket) or CONNECT, Node frees the socket's HTTP parser: the socket is the app's now. */
function isUpgraded(socket: net.Socket): boolean {
  return (socket as { parser?: unknown }).parser === null && !socket.destroyed;
}

/** A TLS socket of an HTTP/2 server that negotiated HTTP/2: its session, not an HTTP/1 parser, serves it. */
function speaksHttp2(socket: net.Socket): boolean {
  return (socket as tls.TLSSocket).alpnProtocol === 'h2';
}

/**
 * How long a draining server's idle connection stays open: the grace, or the keep-alive timeout the server
 * advertises (`Keep-Alive: timeout=5`, Node's default `keepAliveTimeout` of 5 s) if that is longer. A pooled
 * client may reuse an idle connection for as long as that header told it; one that respects it (fetch drops
 * it 2 s before, node:http's Agent with a `timeout` 1 s before) never sends on a connection closed after
 * that, and for one that does not, it is the moment Node itself would close it. Closing sooner races with
 * a request the client is sending on a connection it believes open. `keepAliveTimeout: 0` (no timeout:
 * Node sends no such header) gets the grace alone.
 */
export function idleLimit(server: net.Server): number {
  const keepAlive = (server as Partial<http.Server>).keepAliveTimeout;
  return typeof keepAlive === 'number' && Number.isFinite(keepAlive) && keepAlive > IDLE_GRACE ? keepAlive : IDLE_GRACE;
}

/** The response an HTTP/1 socket is writing now, if any. */
function responseOn(socket: net.Socket): http.ServerResponse | null {
  return (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage ?? null;
}

function keepAliveOff(_request: http.IncomingMessage, response: http.ServerResponse): void {
  // Sent as `Connection: close`; Node closes the socket once this response is written. HTTP/2's compatibility
  // responses are left alone: their sessions got a GOAWAY.
  if (response instanceof http.ServerResponse) response.shouldKeepAlive = false;
}

/**
 * A request handler that throws synchronously takes the worker down (see the runtime's crash containment),
 * and its own request would otherwise wait, unanswered, until the drain deadline. Catching the throw at the
 * server's emit, where the request is known, answers that one request with a 500 and `Connection: close`;
 * the error then goes on to the uncaught-exception path as before. Other events pass straight through.
 */
function answerThrowingRequests(server: http.Server): void {
  const emit = server.emit;
  // `arguments` rather than rest parameters: this runs for every event of the server, and must not allocate.
  server.emit = function emitRequest(this: http.Server, event: string | symbol): boolean {
    // biome-ignore lint/complexity/noArguments: no allocation per event (see above).
    if (event !== 'request') return Reflect.apply(emit, this, arguments) as boolean;
    try {
      // biome-ignore lint/complexity/noArguments: as above.
      return Reflect.apply(emit, this, arguments) as boolean;
    } catch (error) {
      // biome-ignore lint/complexity/noArguments: as above.
      const response = arguments[2] as http.ServerResponse;
      try {
        if (!response.headersSent) {
          response.shouldKeepAlive = false;
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal Server Error\n');
        } else {
          response.destroy();
        }
      } catch {
        response.socket?.destroy();
      }
      throw error;
    }
  } as typeof server.emit;
}

/**
 * A listener that adds each new connection to `set` until it closes. This runs for every connection a worker
 * accepts, so it allocates nothing per connection: one shared 'close' listener, which Node calls with the
 * socket as `this`, instead of a closure per socket, and `on` rather than `once` ('close' comes once anyway).
 */
function remember(set: Set<net.Socket>): (socket: net.Socket) => void {
  function forget(this: net.Socket): void {
    set.delete(this);
  }
  return (socket) => {
    set.add(socket);
    socket.on('close', forget);
  };
}

/** Every server this worker listens on, and their connections, so they can be drained on retirement. */
export class ServerRegistry {
  /** The servers listening now. */
  readonly #servers = new Map<net.Server, Tracked>();
  /** Every server ever instrumented, so one that closes and listens again is not instrumented twice. */
  readonly #instrumented = new WeakMap<net.Server, Tracked>();
  #draining = false;
  /** Idle connections to close on the next turn of the event loop, unless a request has come on them by then. */
  readonly #closing = new Set<net.Socket>();

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
    const secure = kind !== 'net' && server instanceof tls.Server;
    const tracked: Tracked = { server, kind, sockets, httpSockets: secure ? new Set() : kind === 'http' ? sockets : new Set(), sessions: new Set() };
    this.#servers.set(server, tracked);
    this.#instrumented.set(server, tracked);
    server.on('connection', remember(sockets));
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

  /**
   * Stops accepting on every server and waits until their requests are done: HTTP/1 connections close
   * after their next response (sent with `Connection: close`), or once they have been idle for their
   * server's `idleLimit`, but no later than half the time to `deadline` (the shutdown hooks get the rest);
   * HTTP/2 sessions after a GOAWAY once their streams end. Upgraded sockets are not waited for. Resolves
   * when done or at `deadline` (on the `now()` clock), whichever is first.
   */
  drain(deadline: number): Promise<void> {
    this.#draining = true;
    for (const tracked of this.#servers.values()) this.#stopAccepting(tracked);
    const start = now();
    const cap = Math.max(0, deadline - start) / 2;
    const marks = new Map<net.Socket, IdleMark>();
    for (const tracked of this.#servers.values()) {
      for (const socket of tracked.httpSockets) marks.set(socket, { since: start, bytesRead: socket.bytesRead });
    }
    return this.#until(deadline, () => {
      this.#closeIdle(marks, cap);
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
  #closeIdle(marks: Map<net.Socket, IdleMark>, cap: number): void {
    const time = now();
    for (const tracked of this.#servers.values()) {
      const limit = Math.min(idleLimit(tracked.server), cap);
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
        } else if (time - mark.since >= limit) {
          this.#closeIfStillIdle(socket, mark);
        }
      }
    }
  }

  /** Destroys `socket` on the next turn of the event loop, after pending input has been read, if it has still read nothing and has no response under way. */
  #closeIfStillIdle(socket: net.Socket, mark: IdleMark): void {
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
      socket.destroy();
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
