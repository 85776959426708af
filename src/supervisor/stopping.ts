// How a worker is stopped: its drain deadline and SIGTERM, with the runtime or without it, and how long one being replaced gets.
import type { ResolvedOptions } from '../options.js';
import type { RetireReason } from '../protocol.js';
import { signalMargin } from './timing.js';
import type { WorkerHandle } from './worker-handle.js';

/**
 * Stops a worker that was just moved to `retiring`. Graceful: the runtime drains it (or, without the runtime,
 * node:cluster disconnects it), SIGTERM at `within` ms, SIGKILL `killTimeout` later. Not graceful (or with
 * `timeout: 0`): SIGTERM now, then SIGKILL. With `handover`, its idle keep-alive connections are handed over.
 */
export function stopWorker(handle: WorkerHandle, reason: RetireReason, graceful: boolean, within: number, options: ResolvedOptions, handover: boolean): void {
  const { timeout, killTimeout } = options;
  if (!graceful || timeout === 0) {
    handle.terminate(killTimeout);
    return;
  }
  if (handle.hasRuntime) {
    // SIGTERM comes at `timeout`, as recluster's kill timeout did. The runtime's own deadline comes a margin
    // before it: there it destroys what is left and aborts the shutdown hooks' signal, and the margin lets
    // hooks react to the abort before SIGTERM ends the process.
    // With `handover`, other workers stay to serve (or a new primary's): its idle keep-alive connections go to them.
    handle.askToRetire({ cmd: 'qilin:retire', deadline: within - signalMargin(within), reason, handover });
  } else {
    handle.send({ cmd: 'disconnect', reason });
    handle.disconnect();
  }
  handle.after(within, () => handle.terminate(killTimeout));
}

/**
 * How long a worker being replaced has before SIGTERM. One that asked to be replaced (recluster's
 * `{cmd: 'disconnect'}`) gets `timeout` from its request, as recluster's kill timeout, though not less than a
 * tenth of it (at most 1 s) from `now`: it serves until its replacement is ready, and its last requests need a
 * moment. Any other gets `timeout` from now.
 */
export function retireWithin(handle: WorkerHandle, options: Pick<ResolvedOptions, 'timeout'>, now: number): number {
  const { timeout } = options;
  if (handle.replacing !== 'requested' || handle.replaceAskedAt === null) return timeout;
  return Math.max(signalMargin(timeout), Math.round(handle.replaceAskedAt + timeout - now));
}
