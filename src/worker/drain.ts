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
  /** The sockets HTTP/1 parses requests on, to spot upgraded ones: for http the very same set as `sockets`, for https the TLS sockets. */
  readonly httpSockets: Set<net.Socket>;
  readonly sessions: Set<Http2Session>;
}

/** How often a draining worker checks whether its connections are done. */
const DRAIN_TICK = 25;
/** How long idle keep-alive connections are left open after retirement begins, so clients that just sent a request on one get their answer. */
export const IDLE_GRACE = 1_000;

const noop = (): void => {};

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

function keepAliveOff(_request: http.IncomingMessage, response: http.ServerResponse): void {
  // Sent as `Connection: close`; Node closes the socket once this response is written.
  response.shouldKeepAlive = false;
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
    if (event !== 'request') return Reflect.apply(emit, this, arguments) as boolean;
    try {
      return Reflect.apply(emit, this, arguments) as boolean;
    } catch (error) {
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
  readonly #servers = new Map<net.Server, Tracked>();

  /** Starts tracking a server's connections; called when it listens. */
  track(server: net.Server): void {
    if (this.#servers.has(server)) return;
    const kind = kindOf(server);
    const sockets = new Set<net.Socket>();
    const secure = kind === 'http' && server instanceof tls.Server;
    const tracked: Tracked = { server, kind, sockets, httpSockets: secure ? new Set() : sockets, sessions: new Set() };
    this.#servers.set(server, tracked);
    server.on('connection', remember(sockets));
    if (kind === 'http') {
      if (secure) server.on('secureConnection', remember(tracked.httpSockets));
      answerThrowingRequests(server as http.Server);
    }
    if (tracked.kind === 'http2') {
      server.on('session', (session: Http2Session) => {
        tracked.sessions.add(session);
        session.once('close', () => tracked.sessions.delete(session));
      });
    }
    server.once('close', () => this.#servers.delete(server));
  }

  get size(): number {
    return this.#servers.size;
  }

  /**
   * Stops accepting on every server and waits until their requests are done: HTTP/1 connections close
   * after their next response (sent with `Connection: close`), idle keep-alive ones after IDLE_GRACE,
   * HTTP/2 sessions after a GOAWAY once their streams end. Upgraded sockets are not waited for. Resolves
   * when done or at `deadline` (epoch ms), whichever is first.
   */
  drain(deadline: number): Promise<void> {
    for (const tracked of this.#servers.values()) this.#stopAccepting(tracked);
    const graceEnd = Math.min(Date.now() + IDLE_GRACE, Date.now() + Math.max(0, deadline - Date.now()) / 2);
    return this.#until(deadline, () => {
      if (Date.now() >= graceEnd) this.#closeIdle();
      return [...this.#servers.values()].every((tracked) => this.#requestsDone(tracked));
    });
  }

  /** Waits until every connection, upgraded ones included, has closed, or until `deadline`; then destroys what is left. */
  async settle(deadline: number): Promise<void> {
    await this.#until(deadline, () => [...this.#servers.values()].every((t) => t.sockets.size === 0 && t.sessions.size === 0));
    this.destroyAll();
  }

  /** Destroys every connection left, for the deadline. */
  destroyAll(): void {
    for (const tracked of this.#servers.values()) {
      for (const session of tracked.sessions) session.destroy();
      for (const socket of tracked.sockets) socket.destroy();
      if (tracked.httpSockets !== tracked.sockets) for (const socket of tracked.httpSockets) socket.destroy();
    }
  }

  #stopAccepting(tracked: Tracked): void {
    const { server } = tracked;
    if (tracked.kind === 'http') {
      const httpServer = server as http.Server;
      // Node's close() (and cluster's disconnect, which calls it) destroys idle keep-alive sockets at once,
      // including ones a client has just written its next request on. Hold that back until the grace ends.
      httpServer.closeIdleConnections = noop;
      httpServer.prependListener('request', keepAliveOff);
      for (const socket of tracked.httpSockets) {
        const response = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
        if (response && !response.headersSent) response.shouldKeepAlive = false;
      }
    }
    if (tracked.kind === 'http2') {
      for (const session of tracked.sessions) {
        if (!session.closed && !session.destroyed) session.close();
      }
    }
    try {
      net.Server.prototype.close.call(server);
    } catch {
      // Not listening any more: nothing to stop.
    }
  }

  #closeIdle(): void {
    for (const tracked of this.#servers.values()) {
      if (tracked.kind !== 'http') continue;
      const proto = Object.getPrototypeOf(tracked.server) as http.Server;
      proto.closeIdleConnections.call(tracked.server);
    }
  }

  #requestsDone(tracked: Tracked): boolean {
    if (tracked.kind === 'http') {
      let upgraded = 0;
      for (const socket of tracked.httpSockets) if (isUpgraded(socket)) upgraded += 1;
      return tracked.sockets.size <= upgraded;
    }
    if (tracked.kind === 'http2') return tracked.sessions.size === 0 && tracked.sockets.size === 0;
    return tracked.sockets.size === 0;
  }

  #until(deadline: number, done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (done() || Date.now() >= deadline) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(check, DRAIN_TICK);
      check();
    });
  }
}
