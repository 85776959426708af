// Pollers beside the soak's load: clients that each hold one keep-alive connection and send a request, wait, and send again on it, with waits that land on a draining worker's boundaries.
//
// Each poller speaks HTTP/1.1 over a raw socket, so nothing between it and the server decides when a connection
// is reused: node:http's Agent drops a free socket a second before the server's `Keep-Alive: timeout=5` hint, and
// would never send on a connection idle for 5 s. A poller reuses its connection unless the server has closed it
// (FIN seen while idle) or announced `Connection: close`; then it opens a new one for its next request, which is
// what a keep-alive client does. It never retries: a request written and not answered with a 2xx in time is lost.
import net from 'node:net';
import { sleep } from './util.mjs';

/** The kinds a poll can fail by; every failed poll is exactly one of them. */
export const POLL_FAILURES = ['reset', 'closed', 'refused', 'non2xx', 'timeout', 'other'];

const HEADER_END = '\r\n\r\n';

/**
 * Starts `count` pollers against 127.0.0.1:`port`; poller i waits `waitsMs[i % waitsMs.length]` ms between its
 * requests, each wait drawn anew within ±`jitter` of it. `stop()` lets the requests under way finish (or time
 * out), closes the connections and resolves with the counts per wait and every failure.
 */
export function startPollers({ port, count, waitsMs, jitter = 0.05, timeoutMs }) {
  const bands = waitsMs.map((waitMs) => ({
    waitMs,
    pollers: 0,
    polls: 0,
    ok: 0,
    // Requests sent on a connection that had answered before (kept alive), and on a new one.
    reused: 0,
    fresh: 0,
    // The server closed the connection while the poller waited (FIN between two requests): not a loss.
    closedWhileIdle: 0,
    // Responses with `Connection: close` (a draining worker's): the next request goes on a new connection.
    closeAnnounced: 0,
    // The shortest and longest idle time before a request on a kept-alive connection, as measured.
    reusedIdleMs: [null, null],
    failures: Object.fromEntries(POLL_FAILURES.map((kind) => [kind, 0])),
  }));
  const failures = [];
  let stopped = false;
  const running = Array.from({ length: count }, (_, i) => {
    const band = bands[i % bands.length];
    band.pollers += 1;
    return poll(i, band);
  });

  async function poll(id, band) {
    const connection = new Connection(port);
    try {
      while (!stopped) {
        const outcome = await connection.request(timeoutMs);
        band.polls += 1;
        if (outcome.reused) {
          band.reused += 1;
          band.reusedIdleMs[0] = Math.min(band.reusedIdleMs[0] ?? Infinity, outcome.idleMs);
          band.reusedIdleMs[1] = Math.max(band.reusedIdleMs[1] ?? 0, outcome.idleMs);
        } else band.fresh += 1;
        if (outcome.closeAnnounced) band.closeAnnounced += 1;
        if (outcome.kind === null) band.ok += 1;
        else {
          band.failures[outcome.kind] += 1;
          failures.push({
            poller: id,
            waitMs: band.waitMs,
            kind: outcome.kind,
            code: outcome.code,
            status: outcome.status,
            reused: outcome.reused,
            idleMs: outcome.idleMs,
            sentAt: outcome.sentAt,
            failedAt: outcome.failedAt,
          });
        }
        await sleep(band.waitMs * (1 - jitter + Math.random() * 2 * jitter));
        if (connection.closedWhileIdle()) band.closedWhileIdle += 1;
        // Events already in (a FIN that came in during the wait) are handled before the next write, as a
        // client's event loop would have by then: what is left is the race itself.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      connection.close();
    }
  }

  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
      const total = (key) => bands.reduce((sum, b) => sum + b[key], 0);
      return {
        pollers: count,
        jitter,
        polls: total('polls'),
        ok: total('ok'),
        reused: total('reused'),
        closedWhileIdle: total('closedWhileIdle'),
        lost: failures.length,
        failures: Object.fromEntries(POLL_FAILURES.map((kind) => [kind, bands.reduce((sum, b) => sum + b.failures[kind], 0)])),
        bands,
        failed: failures,
      };
    },
  };
}

/** One keep-alive connection, opened when needed; one request at a time on it. */
class Connection {
  #port;
  #socket = null;
  /** Whether the socket now open has answered a request (so a request on it reuses it). */
  #answered = false;
  #lastResponseAt = 0;
  /** The server ended the socket while no request was under way. */
  #endedIdle = false;
  #pending = null;

  constructor(port) {
    this.#port = port;
  }

  /** True once after the server closed the connection between two requests. */
  closedWhileIdle() {
    const ended = this.#endedIdle;
    this.#endedIdle = false;
    return ended;
  }

  close() {
    const socket = this.#socket;
    this.#socket = null;
    socket?.destroy();
  }

  #open() {
    const socket = net.connect({ port: this.#port, host: '127.0.0.1', noDelay: true });
    this.#socket = socket;
    this.#answered = false;
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      if (this.#socket !== socket) return;
      buffer += chunk;
      const pending = this.#pending;
      if (!pending) return;
      const end = buffer.indexOf(HEADER_END);
      if (end < 0) return;
      const head = buffer.slice(0, end).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1]);
      const headers = new Map(head.slice(1).map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const length = Number(headers.get('content-length'));
      if (!Number.isFinite(length)) {
        this.#socket = null;
        pending.settle({ kind: 'other', code: 'no content-length', status });
        socket.destroy();
        return;
      }
      if (buffer.length < end + HEADER_END.length + length) return;
      buffer = buffer.slice(end + HEADER_END.length + length);
      const closeAnnounced = /(^|,)\s*close\s*(,|$)/i.test(headers.get('connection') ?? '');
      pending.settle({ kind: status >= 200 && status <= 299 ? null : 'non2xx', status, closeAnnounced });
      this.#answered = true;
      this.#lastResponseAt = performance.now();
      if (closeAnnounced) {
        this.#socket = null;
        socket.destroy();
      }
    });
    // Only the socket in use counts: one this side closed (timed out, or after `Connection: close`) is done.
    const gone = (kind, code) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#pending) this.#pending.settle({ kind, code });
      else if (this.#answered && kind === 'closed') this.#endedIdle = true;
    };
    socket.on('error', (error) => {
      const kind = error.code === 'ECONNREFUSED' ? 'refused' : error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : 'other';
      gone(kind, error.code ?? error.message);
    });
    socket.on('end', () => gone('closed', 'end'));
    socket.on('close', () => gone('closed', 'close'));
    return socket;
  }

  /** Sends one GET and waits for its response, or its failure, for at most `timeoutMs`. */
  request(timeoutMs) {
    const usable = this.#socket !== null && !this.#socket.destroyed && !this.#socket.readableEnded;
    if (!usable) this.close();
    const reused = usable && this.#answered;
    const idleMs = reused ? performance.now() - this.#lastResponseAt : null;
    const socket = usable ? this.#socket : this.#open();
    const sentAt = Date.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.#socket === socket) this.#socket = null;
        pending.settle({ kind: 'timeout', code: `no response in ${timeoutMs} ms` });
        socket.destroy();
      }, timeoutMs);
      const pending = {
        settle: ({ kind, code = null, status = null, closeAnnounced = false }) => {
          if (this.#pending !== pending) return;
          this.#pending = null;
          clearTimeout(timer);
          resolve({ kind, code, status, closeAnnounced, reused, idleMs, sentAt, failedAt: kind === null ? null : Date.now() });
        },
      };
      this.#pending = pending;
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${this.#port}\r\n\r\n`);
    });
  }
}
