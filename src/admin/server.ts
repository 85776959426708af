// The admin HTTP server: a cluster service in the primary that authenticates, routes and answers each request, within strict limits.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Cluster, ClusterService } from '../cluster.js';
import { QilinError } from '../errors.js';
import type { ClusterEvents } from '../events.js';
import { type AdminAddress, formatAdminAddress, isLocalOnly } from './address.js';
import { type AdminActions, type Answer, failure, json, refused, reloadAnswer, scaleAnswer } from './actions.js';
import { type InfoAnswer, buildInfo, buildReady, notReadyReason, servingOf } from './answers.js';
import { type AdminLimits, DEFAULT_LIMITS, bodySize, declaredBody } from './limits.js';
import { type OwnSocket, listenOn, listen, removeOwnSocket } from './listen.js';
import { AdminMetrics } from './metrics.js';
import type { ResolvedAdminOptions } from './options.js';
import { type Endpoint, HEALTH_ENDPOINTS, type Params, parseTarget, readParams, route } from './routes.js';
import { UsageSampler } from './usage.js';

export type { AdminActions } from './actions.js';

/** How long `/info` and `/metrics` wait for a worker's response counts: a worker whose event loop is blocked is shown without them. */
export const COUNT_WAIT = 500;

/**
 * The admin interface, attached to a cluster as a service: it listens when the cluster runs and closes when
 * the cluster stops. Routing, credentials and answers are pure functions in this folder; this class does
 * the I/O.
 */
export class AdminServer implements ClusterService {
  readonly options: ResolvedAdminOptions;
  readonly #limits: AdminLimits;
  readonly #given: Partial<AdminActions>;
  #actions: AdminActions | null = null;
  readonly #sampler = new UsageSampler();
  #cluster: Cluster | null = null;
  #server: http.Server | null = null;
  #metrics: AdminMetrics | null = null;
  #address: string | null = null;
  #stopped = false;
  /** The Unix socket file this server made, to remove at close. */
  #socket: OwnSocket | null = null;
  /** A listening socket an old primary handed over, to serve on in place of a new one. */
  #inherited: number | null = null;
  #closed: Promise<void> = Promise.resolve();
  #reloading: { generation: number; startedAt: number } | null = null;
  readonly #onReloadStart = (info: ClusterEvents['reloadStart'][0]): void => {
    this.#reloading = { generation: info.generation, startedAt: Date.now() };
  };
  readonly #onReloadDone = (): void => {
    this.#reloading = null;
  };

  constructor(options: ResolvedAdminOptions, limits: Partial<AdminLimits> = {}, actions: Partial<AdminActions> = {}) {
    this.options = options;
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#given = actions;
  }

  /**
   * Serves, once started, on the listening socket at descriptor `fd`, which an old primary's admin interface
   * asked for `address` (as `listeningSocket()` gave it): only if this one asks for the same, else it is left
   * alone and this one binds its own. True when it will be used.
   */
  inheritSocket(fd: number, address: string): boolean {
    if (address !== formatAdminAddress(this.options.listen)) return false;
    this.#inherited = fd;
    return true;
  }

  /** The listening socket's descriptor and the address it was asked for, for an upgrade to hand over; null when not listening. */
  listeningSocket(): { fd: number; address: string } | null {
    const fd = (this.#server as unknown as { _handle?: { fd?: unknown } } | null)?._handle?.fd;
    return typeof fd === 'number' && fd >= 0 && this.#address !== null ? { fd, address: formatAdminAddress(this.options.listen) } : null;
  }

  /** The socket now serves a new primary: closing this server leaves its file where it is. */
  handOver(): void {
    this.#socket = null;
  }

  /** Where the server listens (`127.0.0.1:9000`, `unix:/path`), or null when it does not. */
  address(): string | null {
    return this.#address;
  }

  /** Resolves when the server has closed after `stop()`. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  async start(cluster: Cluster): Promise<void> {
    if (this.#cluster) return;
    this.#cluster = cluster;
    this.#actions = {
      reload: () => cluster.reload(),
      scale: (workers) => cluster.scale(workers),
      shutdown: () => cluster.shutdown(),
      ...this.#given,
    };
    this.#metrics = new AdminMetrics(await import('prom-client'), cluster, this.#sampler, COUNT_WAIT);
    cluster.on('reloadStart', this.#onReloadStart);
    cluster.on('reloadEnd', this.#onReloadDone);
    cluster.on('reloadFailed', this.#onReloadDone);

    const limits = this.#limits;
    const server = http.createServer(
      {
        maxHeaderSize: limits.maxHeaderSize,
        headersTimeout: limits.headersTimeout,
        requestTimeout: limits.requestTimeout,
        keepAliveTimeout: limits.keepAliveTimeout,
        connectionsCheckingInterval: limits.connectionsCheckingInterval,
      },
      (request, response) => {
        this.#handle(request, response);
      },
    );
    server.maxConnections = limits.maxConnections;
    this.#server = server;
    this.#closed = new Promise((resolve) => server.once('close', () => resolve()));

    const asked = this.options.listen;
    let bound: AdminAddress;
    try {
      const listening =
        this.#inherited === null
          ? await listen(server, asked, this.options.auth === null && isLocalOnly(asked))
          : await listenOn(server, this.#inherited, asked);
      bound = listening.address;
      this.#socket = listening.socket;
    } catch (error) {
      this.#detach();
      this.#server = null;
      this.#closed = Promise.resolve();
      const reason = error instanceof Error ? error.message : String(error);
      throw new QilinError('ERR_QILIN_ADMIN_LISTEN', `The admin interface could not listen on ${formatAdminAddress(asked)}: ${reason}`, { cause: error });
    }
    // Errors after listening (a failed accept) must not crash the primary.
    server.on('error', (error) => cluster.emit('error', error));
    if (this.#stopped) {
      this.#close(server);
      return;
    }
    this.#address = formatAdminAddress(bound);
    cluster.emit('adminListening', this.#address);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#detach();
    const server = this.#server;
    if (server?.listening) this.#close(server);
    await this.#closed;
  }

  #close(server: http.Server): void {
    this.#address = null;
    server.close();
    // The listening socket is closed now (connections may linger): its file goes now too, if it is still ours.
    if (this.#socket) removeOwnSocket(this.#socket);
    this.#socket = null;
    server.closeIdleConnections();
    // Answers being written (the /quit that stopped the cluster, a reload cut short) get a moment to leave.
    setTimeout(() => server.closeAllConnections(), this.#limits.closeGrace).unref();
  }

  #detach(): void {
    const cluster = this.#cluster;
    if (!cluster) return;
    cluster.off('reloadStart', this.#onReloadStart);
    cluster.off('reloadEnd', this.#onReloadDone);
    cluster.off('reloadFailed', this.#onReloadDone);
    this.#metrics?.close();
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    this.#answer(request)
      .catch((error: unknown) => refused(error))
      .then((answer) => this.#write(request, response, answer))
      .catch(() => {
        // The client went away while its answer was being written; nothing more to do.
      });
  }

  #write(request: IncomingMessage, response: ServerResponse, answer: Answer): void {
    if (response.headersSent || response.destroyed) return;
    const contentType = answer.headers?.['Content-Type'] ?? 'application/json; charset=utf-8';
    response.statusCode = answer.status;
    response.setHeader('Content-Type', contentType);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    for (const [name, value] of Object.entries(answer.headers ?? {})) response.setHeader(name, value);
    // A request whose body was not read cannot be followed by another on the same connection; a client
    // refused for its credentials or its origin does not keep a connection open either.
    if (!request.complete || answer.status === 401 || answer.status === 403) response.setHeader('Connection', 'close');
    if (answer.afterSent) response.once('finish', answer.afterSent);
    response.end(answer.body);
  }

  async #answer(request: IncomingMessage): Promise<Answer> {
    const target = parseTarget(request.url);
    if (!target) return failure(400, 'The request target must be a path such as /info');
    if (request.headers.origin !== undefined) {
      return failure(403, 'Requests from web pages are refused: the admin interface is for command-line clients and monitoring');
    }
    const match = route(request.method ?? '', target.pathname);
    const open = this.options.auth === null || (this.options.publicHealth && match.kind === 'endpoint' && HEALTH_ENDPOINTS.has(match.endpoint));
    if (!open && !this.options.auth?.check(request.headers.authorization)) {
      return failure(401, 'Unauthorized', { 'WWW-Authenticate': this.options.auth?.challenges() ?? [] });
    }
    if (match.kind === 'not-found') return failure(404, match.message);
    if (match.kind === 'method-not-allowed') return failure(405, match.message, { Allow: match.allow });

    const body = declaredBody(request, this.#limits.maxBodySize);
    if (body === 'too-large') return failure(413, `Request bodies are limited to ${this.#limits.maxBodySize} bytes, and the admin interface takes none`);
    if (body === 'read') {
      const size = await bodySize(request, this.#limits.maxBodySize);
      if (size > this.#limits.maxBodySize)
        return failure(413, `Request bodies are limited to ${this.#limits.maxBodySize} bytes, and the admin interface takes none`);
      if (size > 0) {
        const type = request.headers['content-type'] ?? 'none';
        return failure(415, `The admin interface takes no request body (got ${size} bytes of ${type}): pass parameters in the query string`);
      }
    }
    const params = readParams(match, target.query);
    if (!params.ok) return failure(400, params.message);
    return this.#endpoint(match.endpoint, params.params);
  }

  async #endpoint(endpoint: Endpoint, params: Params): Promise<Answer> {
    const cluster = this.#cluster;
    const actions = this.#actions;
    if (!cluster || !actions) return failure(503, 'The admin interface is not attached to a cluster');
    switch (endpoint) {
      case 'healthz':
        return json(200, { error: null, result: { alive: true } });
      case 'readyz': {
        const ready = buildReady(servingOf(cluster.describe(), cluster.activeWorkers().length), {
          threshold: this.options.readyThreshold,
          stopping: cluster.stopping,
        });
        const error = ready.ready ? null : notReadyReason(ready);
        return json(ready.ready ? 200 : 503, { error, result: ready });
      }
      case 'info':
        return json(200, { error: null, result: await this.#info(cluster) });
      case 'metrics': {
        const metrics = this.#metrics;
        if (!metrics) return failure(503, 'Metrics are not available');
        return { status: 200, body: await metrics.render(), headers: { 'Content-Type': metrics.contentType } };
      }
      case 'reload':
        return reloadAnswer(actions, params.wait);
      case 'scale':
        return scaleAnswer(actions, params.workers ?? 0, params.wait);
      case 'upgrade': {
        if (!actions.upgrade) return failure(501, 'Upgrading the primary is done by the qilin command; this cluster runs in a program of its own');
        try {
          return json(200, { error: null, result: await actions.upgrade() });
        } catch (error) {
          return refused(error);
        }
      }
      case 'quit':
        return {
          ...json(202, { error: null, result: { stopping: true } }),
          afterSent: () => {
            actions.shutdown().catch(() => {
              // A shutdown already under way, or one that cannot stop every worker, is reported by the cluster.
            });
          },
        };
      default:
        return failure(404, `No such endpoint: /${endpoint as string}`);
    }
  }

  async #info(cluster: Cluster): Promise<InfoAnswer> {
    const workers = cluster.describe();
    const pids = workers.flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
    const [usage, responses] = await Promise.all([this.#sampler.sample([process.pid, ...pids]), cluster.responseCounts(COUNT_WAIT)]);
    return buildInfo({
      now: Date.now(),
      primary: { pid: process.pid, uptimeSeconds: process.uptime() },
      workers,
      usage,
      responses,
      generation: cluster.generation,
      active: servingOf(workers, cluster.activeWorkers().length),
      reloading: this.#reloading,
    });
  }
}
