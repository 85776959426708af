// Forking the worker of a slot: the script, the runtime preload, the environment each worker gets, and the watch on the connections relayed to it.
import type { Worker } from 'node:cluster';
import { type ResolvedOptions, relays } from '../options.js';
import { ENV } from '../protocol.js';
import type { SupervisorCore } from './core.js';
import { heartbeatInterval } from './monitor.js';
import type { Slot } from './slot.js';
import { RUNTIME_PATH, SLOW_START_NOTICE } from './timing.js';
import { WorkerHandle } from './worker-handle.js';

/** Forks a worker of `generation` for `slot` with `options` (its generation's), in `batch`; null if the fork itself failed (reported as the cluster's `error`). */
export function forkFor(
  supervisor: SupervisorCore,
  slot: Slot,
  generation: number,
  batch: WorkerHandle['batch'],
  options: ResolvedOptions,
): WorkerHandle | null {
  const { host, io } = supervisor;
  let worker: Worker;
  try {
    worker = io.fork({
      exec: host.file,
      args: options.args,
      execArgv: options.runtime ? ['--require', RUNTIME_PATH, ...options.execArgv] : options.execArgv,
      env: {
        ...options.env,
        [ENV.slot]: String(slot.index),
        [ENV.generation]: String(generation),
        [ENV.heartbeatInterval]: String(heartbeatInterval(options)),
        [ENV.maxMemory]: String(options.runtime ? (options.maxMemory ?? 0) : 0),
        [ENV.timeout]: String(options.timeout),
        // The primary owns the listening sockets, with the runtime to ask for them: the workers accept on them
        // themselves, or the primary accepts and relays each connection to a worker (round-robin).
        [ENV.ownSockets]: options.runtime ? (relays(host.balance) ? 'rr' : '1') : undefined,
        // systemd's socket activation is the primary's: its sockets reach the workers through it.
        LISTEN_FDS: undefined,
        LISTEN_PID: undefined,
        LISTEN_FDNAMES: undefined,
      },
      cwd: options.cwd,
      silent: options.silent,
      serialization: options.serialization,
    });
  } catch (error) {
    host.emit('error', error instanceof Error ? error : new Error(String(error)));
    return null;
  }
  const handle = new WorkerHandle(worker, slot.index, generation, io.now(), options);
  if (host.balance === 'reuseport') handle.changed = () => supervisor.cover.check();
  handle.batch = batch;
  batch?.waiter.add(handle);
  if (relays(host.balance) && options.runtime) supervisor.relay.attach(handle);
  return handle;
}

/**
 * Forks a worker for `slot` and makes it the slot's next worker, watched from now on: its events, its
 * `readyTimeout` and slow-start notice. Null if the fork itself failed (reported as the cluster's `error`).
 */
export function spawnInto(
  supervisor: SupervisorCore,
  events: { watch(handle: WorkerHandle): void; slowStart(handle: WorkerHandle): void },
  slot: Slot,
  generation: number,
  batch: WorkerHandle['batch'],
  options: ResolvedOptions,
): WorkerHandle | null {
  const handle = forkFor(supervisor, slot, generation, batch, options);
  if (!handle) return null;
  supervisor.handles.set(handle.worker, handle);
  slot.next = handle;
  events.watch(handle);
  const { readyTimeout } = options;
  if (readyTimeout !== null) handle.after(readyTimeout, () => supervisor.startFailed(handle, { kind: 'timeout', afterMs: readyTimeout }));
  if (readyTimeout === null || readyTimeout > SLOW_START_NOTICE * 1.5) handle.after(SLOW_START_NOTICE, () => events.slowStart(handle));
  // A process that could not be spawned has no pid; its failure comes with its 'error' event, next tick.
  if (handle.pid !== undefined) supervisor.host.emit('fork', handle.worker, slot.index, generation);
  return handle;
}

/** Resolves when every one of `handles` has exited. */
export function allExited(handles: readonly WorkerHandle[]): Promise<void> {
  return Promise.all(handles.map((handle) => handle.exited)).then(() => {});
}
