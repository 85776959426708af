// What the drain knows of a server's connections: their kind, whether one is busy, upgraded or HTTP/2, how long an idle one may stay, and the hooks on a server's requests.
import http from 'node:http';
import type { Http2Session } from 'node:http2';
import type net from 'node:net';
import type tls from 'node:tls';

/** Deadlines in the worker are on the monotonic clock, so a step of the system clock cannot cut a drain short. */
export const now = (): number => performance.now();

export type Kind = 'http' | 'http2' | 'net';

export interface Tracked {
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
  /** The port it listens on, once it does: a connection handed over for that port is given to it. */
  port: number | null;
}

/** Passes an idle connection of a retiring worker on to a worker that stays; false if it cannot (the socket is left as it was). */
export type HandOver = (socket: net.Socket, port: number) => boolean;

/**
 * The least time a connection must have been idle, once retirement has begun, before it is closed: a client
 * that has just sent a request on it gets its answer. A connection of a server that advertises a longer
 * keep-alive timeout is kept open that long (see `idleLimit`).
 */
export const IDLE_GRACE = 1_000;
/**
 * How long a connection must have been idle, once retirement has begun, before it is handed over to a worker
 * that stays. A request the client sent meanwhile is read by that worker, so there is no race to wait out;
 * the wait only lets a request whose head came in several packets finish arriving.
 */
export const HANDOVER_IDLE = 100;

/**
 * The kind of a server, told apart without loading node:tls: it (and node:https, which loads it) costs a
 * worker about 22 ms of CPU, a third of a bare worker's whole start (docs/runtime.md). A plain http.Server is
 * told apart first; any other is looked up with process.getBuiltinModule, which costs nothing once the app has
 * loaded the module itself, as an app that made an https or TLS server has.
 */
export function kindOf(server: net.Server): Kind {
  if (server instanceof http.Server) return 'http';
  const name = server.constructor?.name;
  if (name === 'Http2Server' || name === 'Http2SecureServer') return 'http2';
  if (server instanceof process.getBuiltinModule('node:https').Server) return 'http';
  return 'net';
}

/** A server whose connections are TLS (https, tls, HTTP/2 over TLS): its HTTP/1 parsers run on the TLS sockets. */
export function isTls(server: net.Server): boolean {
  return !(server instanceof http.Server) && server instanceof process.getBuiltinModule('node:tls').Server;
}

/** After an upgrade (WebSocket) or CONNECT, Node frees the socket's HTTP parser: the socket is the app's now. */
export function isUpgraded(socket: net.Socket): boolean {
  return (socket as { parser?: unknown }).parser === null && !socket.destroyed;
}

/** A TLS socket of an HTTP/2 server that negotiated HTTP/2: its session, not an HTTP/1 parser, serves it. */
export function speaksHttp2(socket: net.Socket): boolean {
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

/** Plain HTTP/1 (not TLS, whose session state cannot move; not HTTP/2): its idle connections can move to another worker. */
export function handsOver(tracked: Tracked): boolean {
  return tracked.kind === 'http' && tracked.httpSockets === tracked.sockets;
}

/** The response an HTTP/1 socket is writing now, if any. */
export function responseOn(socket: net.Socket): http.ServerResponse | null {
  return (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage ?? null;
}

export function keepAliveOff(_request: http.IncomingMessage, response: http.ServerResponse): void {
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
export function answerThrowingRequests(server: http.Server): void {
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
export function remember(set: Set<net.Socket>): (socket: net.Socket) => void {
  function forget(this: net.Socket): void {
    set.delete(this);
  }
  return (socket) => {
    set.add(socket);
    socket.on('close', forget);
  };
}
