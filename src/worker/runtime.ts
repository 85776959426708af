// The worker runtime, preloaded into every worker with --require: graceful retirement of any server, heartbeats, crash containment.
import cluster from 'node:cluster';
import net from 'node:net';
import { inspect } from 'node:util';
import { ENV, type RetireReason, isCommand } from '../protocol.js';
import { ServerRegistry, now } from './drain.js';
import { runShutdownHooks, sharedState } from './state.js';

const state = sharedState();
/** How often the runtime reads its resident memory when `maxMemory` is set, in ms. */
const MEMORY_CHECK_INTERVAL = 1_000;
const servers = new ServerRegistry();
let retiring = false;

function send(message: object): void {
  if (typeof process.send !== 'function' || !process.connected) return;
  try {
    process.send(message, undefined, undefined, () => {});
  } catch {
    // The primary has gone; the worker exits on its own when the channel closes.
  }
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
async function retire(reason: RetireReason, deadlineMs: number): Promise<void> {
  if (retiring) return;
  retiring = true;
  state.shuttingDown = true;
  const deadline = now() + deadlineMs;
  await servers.drain(deadline);
  await runShutdownHooks(reason, deadline);
  await servers.settle(deadline);
  if (reason === 'crash') {
    process.exit(1);
  }
  try {
    cluster.worker?.disconnect();
  } catch {
    // Already disconnected.
  }
}

function install(): void {
  state.runtime = true;

  // Every server that listens in this worker is tracked, whatever created it (http, https, http2, express, fastify...).
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(this: net.Server, ...args: unknown[]) {
    servers.track(this);
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;

  process.on('message', (message: unknown) => {
    if (isCommand(message, 'qilin:retire')) {
      const { deadline, reason } = message as unknown as { deadline: number; reason: RetireReason };
      void retire(reason, typeof deadline === 'number' ? deadline : readNumber(ENV.timeout, 1_000));
    }
  });

  // Ctrl-C in a terminal reaches the workers too: leave gracefully, as the primary is doing.
  process.on('SIGINT', () => {
    void retire('shutdown', readNumber(ENV.timeout, 1_000));
  });

  // One bad request should not cut every other request on this worker: report, stop accepting, finish the rest, exit 1.
  process.on('uncaughtException', (error: unknown, origin: string) => {
    if (process.listenerCount('uncaughtException') > 1) return; // The app handles its own.
    process.stderr.write(`${origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception'} in worker ${process.pid}: ${inspect(error)}\n`);
    if (retiring) {
      process.exitCode = 1;
      return;
    }
    const err = error instanceof Error ? error : new Error(String(error));
    send({ cmd: 'qilin:crash', error: { name: err.name, message: err.message, stack: err.stack } });
    void retire('crash', readNumber(ENV.timeout, 1_000));
  });

  // Each heartbeat is an IPC message, which costs a busy worker more than its size suggests (docs/runtime.md,
  // Costs), so they are sparse. Memory is read locally every second and reported only when above maxMemory.
  const interval = readNumber(ENV.heartbeatInterval, 0);
  const maxMemory = readNumber(ENV.maxMemory, 0);
  const beat = (rss: number = process.memoryUsage.rss()): void => send({ cmd: 'qilin:heartbeat', rss });
  if (interval > 0) setInterval(beat, interval).unref();
  if (maxMemory > 0) {
    setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > maxMemory) beat(rss);
    }, MEMORY_CHECK_INTERVAL).unref();
  }
  if (interval > 0 || maxMemory > 0) beat();

  send({ cmd: 'qilin:hello' });
}

if (cluster.isWorker && typeof process.send === 'function' && !state.runtime) install();
