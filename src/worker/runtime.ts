// The worker runtime, preloaded into every worker with --require: graceful retirement of any server, heartbeats, crash containment.
import cluster from 'node:cluster';
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import net from 'node:net';
import { inspect } from 'node:util';
import { ENV, type RetireReason, crashDeadline, isCommand, signalMargin } from '../protocol.js';
import { kindOf } from './connections.js';
import { ServerRegistry, now } from './drain.js';
import { adopt, handOver, refuse } from './handover.js';
import { adoptSocket, adoptedCopy, dropSocket } from './adopted.js';
import { listenOnPrimarySocket, slotSocketCopy, takeSocketReply } from './owned-listen.js';
import { takeRelayed } from './relayed.js';
import { countHttp2Responses, countResponses, hasLasted, isBusy, nextLoadWindow, responseCounts } from './responses.js';
import { runShutdownHooks, sharedState } from './state.js';

const state = sharedState();
/** How often the runtime reads its resident memory when `maxMemory` is set, in ms. */
const MEMORY_CHECK_INTERVAL = 1_000;
const servers = new ServerRegistry();
let retiring = false;
/** The app has called `listen()`: from then on it may be serving requests. */
let listened = false;

/** Sends a message to the primary; resolves once it is written (or could not be), so a worker about to exit can wait for it. */
function send(message: object, handle?: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== 'function' || !process.connected) return resolve();
    try {
      process.send(message, handle as net.Socket | undefined, {}, () => resolve());
    } catch {
      // The primary has gone; the worker exits on its own when the channel closes.
      resolve();
    }
  });
}

/** Where a failed listen tried, in words: `127.0.0.1:8000`, `[::1]:8000`, `port 8000` (every address), or a socket path. */
function listenAddress(error: { address?: unknown; port?: unknown }): string {
  const { address, port } = error;
  if (typeof port === 'number' && port >= 0) {
    if (typeof address !== 'string' || address === '') return `port ${port}`;
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }
  return typeof address === 'string' && address !== '' ? address : 'its address';
}

const watchedForListenErrors = new WeakSet<net.Server>();

/**
 * Tells the primary when `server` fails to listen. Apps often handle that error themselves (Express 5 passes
 * it to the listen callback, which then prints "listening" regardless), and the worker would then sit there,
 * up but serving nothing, until readyTimeout. The error is seen where the server emits it, so an app without
 * an 'error' listener still gets the throw it would get anyway.
 */
function reportListenErrors(server: net.Server): void {
  if (watchedForListenErrors.has(server)) return;
  watchedForListenErrors.add(server);
  const emit = server.emit;
  // `arguments` rather than rest parameters: this runs for every event of the server, and must not allocate.
  server.emit = function emitWatched(this: net.Server, event: string | symbol, error?: unknown): boolean {
    if (event === 'error' && error instanceof Error) {
      const failure = error as NodeJS.ErrnoException & { address?: unknown; port?: unknown };
      if ((failure.syscall === 'listen' || failure.syscall === 'bind') && typeof failure.code === 'string') {
        void send({ cmd: 'qilin:listen-error', error: { code: failure.code, message: failure.message, address: listenAddress(failure) } });
      }
    }
    // biome-ignore lint/complexity/noArguments: no allocation per event (see above).
    return Reflect.apply(emit, this, arguments) as boolean;
  } as typeof server.emit;
}

/**
 * A SyntaxError raised while Node compiled a module (every frame of its stack is in Node's own modules). Node stores the
 * file, line and a caret on such an error, and prints them only when the error reaches its own fatal
 * handler; `inspect()` cannot show them.
 */
function isCompileError(error: unknown): boolean {
  if (!(error instanceof SyntaxError) || typeof error.stack !== 'string') return false;
  const frames = error.stack.split('\n').filter((line) => /^\s+at /.test(line));
  // `at fn (node:internal/...:1:2)` or `at node:internal/...:1:2`: the location is one of Node's own modules.
  return frames.every((line) => /^\s+at (?:.*\()?node:/.test(line));
}

function readNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/**
 * Leaves the cluster without losing a request: drain every server, run the app's shutdown hooks, wait for
 * upgraded sockets (or destroy them at the deadline), then disconnect from the primary so the process can
 * exit. Anything still keeping the process alive is ended by the primary's SIGTERM, shortly after the deadline.
 */
async function retire(reason: RetireReason, deadlineMs: number, handover: boolean): Promise<void> {
  if (retiring) return;
  retiring = true;
  state.shuttingDown = true;
  const deadline = now() + deadlineMs;
  await servers.drain(deadline, handover ? handOver : undefined);
  await runShutdownHooks(reason, deadline);
  const cut = await servers.settle(deadline);
  // The primary logs this: a request cut at the deadline is otherwise an empty reply nobody hears about.
  if (cut.connections > 0) await Promise.race([send({ cmd: 'qilin:cut', ...cut, reason }), new Promise((resolve) => setTimeout(resolve, 100))]);
  if (reason === 'crash') {
    process.exit(1);
  }
  try {
    cluster.worker?.disconnect();
  } catch {
    // Already disconnected.
  }
}

/** How often the runtime checks that it can still open a file descriptor, in ms. */
const DESCRIPTOR_CHECK_INTERVAL = 1_000;

/**
 * Tells the primary when this worker runs out of file descriptors and when it has some again. A worker at its
 * limit cannot take a connection (libuv then accepts and closes what is queued; with round-robin, a connection
 * relayed to it never arrives), and nothing else says so. Opening the null device once a second costs two
 * system calls.
 */
function watchDescriptors(): void {
  let exhausted = false;
  setInterval(() => {
    let code: string | null = null;
    try {
      closeSync(openSync(devNull, 'r'));
    } catch (error) {
      const given = (error as NodeJS.ErrnoException).code;
      if (given === 'EMFILE' || given === 'ENFILE') code = given;
    }
    if ((code !== null) === exhausted) return;
    exhausted = code !== null;
    void send({ cmd: 'qilin:descriptors', exhausted, code });
  }, DESCRIPTOR_CHECK_INTERVAL).unref();
}

function install(): void {
  state.runtime = true;
  // What a canary is judged by (the primary asks with qilin:count).
  countResponses();

  // Every server that listens in this worker is tracked, whatever created it (http, https, http2, express, fastify...).
  // With the primary owning the listening sockets, a TCP listen gets its socket from the primary.
  const listen = net.Server.prototype.listen as (this: net.Server, ...a: unknown[]) => net.Server;
  const owned = process.env[ENV.ownSockets];
  const ownSockets = owned === '1' ? 'kernel' : owned === 'rr' ? 'round-robin' : null;
  net.Server.prototype.listen = function patchedListen(this: net.Server, ...args: unknown[]) {
    listened = true;
    servers.track(this);
    if (kindOf(this) === 'http2') countHttp2Responses(this);
    reportListenErrors(this);
    if (ownSockets !== null && listenOnPrimarySocket(this, args, listen, send, ownSockets)) return this;
    return listen.apply(this, args);
  } as typeof net.Server.prototype.listen;

  process.on('message', (message: unknown, socket: unknown) => {
    if (takeSocketReply(message, socket) || takeRelayed(message, socket, send)) return;
    if (isCommand(message, 'qilin:handover')) {
      // A retiring worker's idle connection: served here from its next request on, even if this worker is
      // retiring too (its own drain then passes it on again, or closes it).
      const server = servers.serverOn(Number((message as { port?: unknown }).port));
      if (server) adopt(server, socket);
      else refuse(socket);
      return;
    }
    if (isCommand(message, 'qilin:adopt-socket')) {
      // balance 'reuseport': a removed slot's socket, accepted on here for the server on its port.
      const { key, port } = message as { key?: unknown; port?: unknown };
      if (typeof key !== 'string') refuse(socket);
      else void send({ cmd: 'qilin:adopted', key, ok: adoptSocket(servers.listeningOn(Number(port)), key, socket) });
      return;
    }
    if (isCommand(message, 'qilin:drop-socket')) {
      const { key } = message as { key?: unknown };
      if (typeof key === 'string') dropSocket(key);
      return;
    }
    if (isCommand(message, 'qilin:spare-request')) {
      // balance 'reuseport': a fresh copy of a slot socket for the primary, which used up its own.
      const { key } = message as { key?: unknown };
      const copy = typeof key === 'string' ? (slotSocketCopy(key) ?? adoptedCopy(key)) : undefined;
      if (copy !== undefined) void send({ cmd: 'qilin:spare', key }, copy);
      return;
    }
    if (isCommand(message, 'qilin:ping')) {
      void send({ cmd: 'qilin:pong', id: (message as { id?: unknown }).id });
      return;
    }
    if (isCommand(message, 'qilin:recycle')) {
      // With a limit (rebalancing), only connections that have lasted, as of the window just counted or since.
      // Those clients may come back to this worker: as many new connections go on, unread, to idler ones.
      const { limit, passMs } = message as { limit?: unknown; passMs?: unknown };
      if (typeof limit === 'number' && limit >= 0) {
        const asked = servers.recycle(limit, (socket) => hasLasted(socket, true));
        if (typeof passMs === 'number' && passMs > 0) servers.passNew(asked, passMs, (socket, port) => handOver(socket, port, true));
      } else servers.recycle();
      return;
    }
    if (isCommand(message, 'qilin:count')) {
      const { id, load } = message as { id?: unknown; load?: unknown };
      const connections = servers.openConnections();
      if (load !== true) {
        void send({ cmd: 'qilin:counted', id, ...responseCounts(), connections });
        return;
      }
      // Rebalancing asks for the connections busy in this load window, and those of them that have lasted
      // (the ones it may move), and starts the next window.
      const busy = servers.recyclable((socket) => isBusy(socket));
      const lasting = servers.recyclable((socket) => hasLasted(socket));
      nextLoadWindow();
      void send({ cmd: 'qilin:counted', id, ...responseCounts(), connections, busy, lasting });
      return;
    }
    if (isCommand(message, 'qilin:retire')) {
      const { deadline, reason, handover } = message as unknown as { deadline: number; reason: RetireReason; handover?: unknown };
      void retire(reason, typeof deadline === 'number' ? deadline : readNumber(ENV.timeout, 1_000), handover === true);
    }
  });

  // Ctrl-C in a terminal reaches the workers too: leave gracefully, as the primary is doing.
  process.on('SIGINT', () => {
    const timeout = readNumber(ENV.timeout, 1_000);
    void retire('shutdown', timeout - signalMargin(timeout), false);
  });

  // One bad request should not cut every other request on this worker: report, stop accepting, finish the rest, exit 1.
  process.on('uncaughtException', function onUncaught(error: unknown, origin: string) {
    if (process.listenerCount('uncaughtException') > 1) return; // The app handles its own.
    if (!listened && isCompileError(error)) {
      // The app's code does not compile (an ESM syntax error comes as a rejection): nothing is served yet, so
      // there is nothing to contain. Handing the error back to Node prints what plain node prints, the file,
      // line and caret included, and exits 1, which the primary reports as a failed start with those lines.
      process.off('uncaughtException', onUncaught);
      process.nextTick(() => {
        throw error;
      });
      return;
    }
    process.stderr.write(`${origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception'} in worker ${process.pid}: ${inspect(error)}\n`);
    if (retiring) {
      process.exitCode = 1;
      return;
    }
    const err = error instanceof Error ? error : new Error(String(error));
    void send({ cmd: 'qilin:crash', error: { name: err.name, message: err.message, stack: err.stack } });
    // A bounded drain: the primary sends SIGTERM at the crash deadline, and this one ends a margin before it.
    const deadline = crashDeadline(readNumber(ENV.timeout, 1_000));
    // The primary replaces it at once; its idle connections go to the workers that stay.
    void retire('crash', deadline - signalMargin(deadline), true);
  });

  // Each heartbeat is an IPC message, which costs a busy worker more than its size suggests (docs/runtime.md,
  // Costs), so they are sparse. Memory is read locally every second and reported only when above maxMemory.
  const interval = readNumber(ENV.heartbeatInterval, 0);
  const maxMemory = readNumber(ENV.maxMemory, 0);
  const beat = (rss: number = process.memoryUsage.rss()): void => void send({ cmd: 'qilin:heartbeat', rss });
  if (interval > 0) setInterval(beat, interval).unref();
  if (maxMemory > 0) {
    setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > maxMemory) beat(rss);
    }, MEMORY_CHECK_INTERVAL).unref();
  }
  if (interval > 0 || maxMemory > 0) beat();
  watchDescriptors();

  void send({ cmd: 'qilin:hello' });
}

if (cluster.isWorker && typeof process.send === 'function' && !state.runtime) install();
