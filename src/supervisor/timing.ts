// The supervisor's fixed times and paths: the worker runtime, the `started` window, notices, heartbeats, and the SIGTERM margin.
import { fileURLToPath } from 'node:url';

/** The worker runtime, preloaded into every worker with --require (beside the bundle: dist/runtime.cjs). */
export const RUNTIME_PATH = fileURLToPath(new URL('./runtime.cjs', import.meta.url));

/** With `readyWhen: 'started'`, how long a worker must stay up after `online` to count as started. */
export const STARTED_WINDOW = 1_000;

/** How long after its fork a worker that is not ready yet is logged as slow to start, with a hint. */
export const SLOW_START_NOTICE = 5_000;

/** A round-robin handoff unacknowledged this long is checked: the worker may be out of file descriptors. */
export const STUCK_HANDOFF = 1_000;

/** Lost handoffs of one worker are logged at most this often, in ms. */
export const LOST_HANDOFF_LOG_EVERY = 10_000;

/** A worker above this many times `maxMemory` is killed: the graceful replacement keeps it serving, and a leak must not take the machine meanwhile. */
export const HARD_MEMORY_FACTOR = 1.5;

/** How often the primary reads the memory of a worker above `maxMemory`, in ms. */
export const MEMORY_WATCH_INTERVAL = 50;

/** The longest time between two heartbeats of a worker, in ms. */
export const MAX_HEARTBEAT_INTERVAL = 10_000;

export { crashDeadline, signalMargin } from '../protocol.js';

/** How often the primary compares its workers' busy connections in the kernel balancing (`rebalance`), in ms: also the load window. */
export const REBALANCE_INTERVAL = 1_000;

/** How long the rebalancer waits for every worker's count before it skips the round, in ms. */
export const REBALANCE_COUNT_WAIT = 500;
