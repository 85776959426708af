// `qilin/worker`: what an app can use inside a worker: say it is ready, clean up on shutdown, know its slot and generation.
import { ENV, RETIRE_REASONS, type RetireReason, isCommand } from '../protocol.js';
import { type ShutdownHook, runShutdownHooks, sharedState } from './state.js';

export type { ShutdownHook, ShutdownInfo } from './state.js';
export type { RetireReason } from '../protocol.js';

function readNumber(name: string): number | null {
  const value = process.env[name];
  if (value === undefined || value === '' || !/^\d+$/.test(value)) return null;
  return Number(value);
}

/** This worker's slot (`WORKER_ID`), or null outside a Qilin worker. */
export const slot: number | null = readNumber(ENV.slot);

/** This worker's generation: 0 for the first, one more per reload; null outside a Qilin worker. */
export const generation: number | null = readNumber(ENV.generation);

/** True in a worker process started by Qilin. */
export const isWorker: boolean = typeof process.send === 'function' && slot !== null;

/** Tells the primary this worker is ready to serve (for `readyWhen: 'ready'`). Returns false outside a worker. */
export function ready(): boolean {
  if (typeof process.send !== 'function' || !process.connected) return false;
  try {
    process.send({ cmd: 'ready' });
    return true;
  } catch {
    return false;
  }
}

/** True once this worker has begun to retire or shut down. */
export function isShuttingDown(): boolean {
  return sharedState().shuttingDown;
}

/**
 * Registers a cleanup function, run when the worker retires (a reload, a replacement, a scale-down, a
 * crash) or the cluster shuts down, after the worker's HTTP servers have finished their in-flight
 * requests. Close database pools, flush queues, close WebSocket connections here. All hooks run at once
 * and are bounded by the deadline in `info`. Returns a function that unregisters the hook.
 */
export function onShutdown(hook: ShutdownHook): () => void {
  if (typeof hook !== 'function') throw new TypeError(`Expected a function, got ${typeof hook}`);
  const state = sharedState();
  state.hooks.add(hook);
  if (!state.runtime) listenWithoutRuntime();
  return () => {
    state.hooks.delete(hook);
  };
}

/** With the runtime turned off, hooks still run when the primary retires this worker (recluster's `{cmd: 'disconnect'}`). */
function listenWithoutRuntime(): void {
  const state = sharedState();
  if (state.fallbackListening || typeof process.send !== 'function') return;
  state.fallbackListening = true;
  const timeout = readNumber(ENV.timeout) ?? 1_000;
  process.on('message', (message: unknown) => {
    if (!isCommand(message, 'disconnect') || state.shuttingDown || state.runtime) return;
    const given = (message as { reason?: unknown }).reason;
    const reason: RetireReason = typeof given === 'string' && RETIRE_REASONS.has(given) ? (given as RetireReason) : 'replace';
    void runShutdownHooks(reason, performance.now() + timeout);
  });
}
