// The cluster's one event map: every event, its arguments and their meaning.
import type { Address, Worker } from 'node:cluster';
import type { ReloadError, SlotGeneration } from './errors.js';
import type { ReadyWhen, ReloadStrategy } from './options.js';
import type { ResponseCounts, RetireReason } from './protocol.js';

/** Why a worker is being replaced while it still runs. */
export type ReplaceReason =
  /** It sent `{cmd: 'disconnect'}`. */
  | 'requested'
  /** It closed its IPC channel (`cluster.worker.disconnect()`). */
  | 'disconnected'
  /** Its heartbeat stopped for `heartbeatTimeout`: its event loop is blocked. */
  | 'unresponsive'
  /** Its resident memory went above `maxMemory`. */
  | 'memory'
  /** It had an uncaught exception; it finishes its other requests and exits. */
  | 'crashed';

/** What `ready` carries: the listening address, the `{cmd: 'ready'}` message, or nothing for `readyWhen: 'started'`. */
export type ReadyDetail = Address | Readonly<Record<string, unknown>> | undefined;

/** Sent with `reloadStart`. */
export interface ReloadStart {
  /** The generation the reload starts. */
  readonly generation: number;
  readonly strategy: ReloadStrategy;
  /** Number of slots being replaced. */
  readonly slots: number;
}

/** Sent with `canaryStart`: a reload's first new worker serves beside the previous generation for `durationMs` before any of those is replaced. */
export interface CanaryStart {
  readonly generation: number;
  readonly slot: number;
  readonly pid: number | undefined;
  readonly durationMs: number;
}

/** Sent with `canaryEnd`: what the canary and the previous generation answered over the canary window, and the verdict. */
export interface CanaryEnd {
  readonly generation: number;
  readonly slot: number;
  readonly pid: number | undefined;
  readonly passed: boolean;
  /** Why it failed; null when it passed. */
  readonly reason: string | null;
  readonly canary: ResponseCounts;
  readonly previous: ResponseCounts;
  readonly durationMs: number;
}

/** How a successful reload ended; also what `reload()` resolves with. */
export interface ReloadResult {
  readonly generation: number;
  readonly strategy: ReloadStrategy;
  /** From `reloadStart` until every slot was served by the new generation. */
  readonly durationMs: number;
  /** Which generation serves each slot now. */
  readonly slots: readonly SlotGeneration[];
}

/** Sent with `cut`: what a retiring worker's deadline ended. */
export interface CutInfo {
  readonly slot: number;
  readonly generation: number;
  /** HTTP/1 requests whose response was still being written. */
  readonly requests: number;
  /** Connections still open (upgraded ones, such as WebSockets, included). */
  readonly connections: number;
  /** The deadline in force: `timeout`, in ms. */
  readonly timeout: number;
  /** Why the worker was leaving. */
  readonly reason: RetireReason;
}

/** Sent with `slowStart`: a starting worker is taking long to become ready. */
export interface SlowStart {
  readonly slot: number;
  readonly generation: number;
  /** Since the fork, in ms. */
  readonly waitedMs: number;
  readonly readyWhen: ReadyWhen;
  /** It has called `listen()` (and so may be serving already). */
  readonly listened: boolean;
  /** When it will count as a failed start (`readyTimeout`, in ms from the fork), or null for never. */
  readonly readyTimeout: number | null;
}

/** Sent with `descriptors`: a worker ran out of file descriptors, or has some again. */
export interface DescriptorsInfo {
  readonly slot: number;
  readonly generation: number;
  /** True when it has none left: it cannot accept connections. */
  readonly exhausted: boolean;
  /** EMFILE (its own limit) or ENFILE (the system's) while exhausted, else null. */
  readonly code: string | null;
}

/** Sent with `handoffsLost`: connections the primary handed to a worker (round-robin) that it never received. */
export interface HandoffsLost {
  readonly slot: number;
  readonly generation: number;
  /** How many; each was given to another worker. */
  readonly count: number;
}

/** One worker in a `rebalance` round. */
export interface RebalancedWorker {
  readonly slot: number;
  readonly pid: number | undefined;
  /** Its kept-alive connections that carried requests over the last second (at least two responses each). */
  readonly busy: number;
  /** How many of them it asked to reconnect: their next response goes with `Connection: close`. */
  readonly asked: number;
}

/** Sent with `rebalance`: the kernel left kept-alive connections uneven, and the busiest workers asked some clients to reconnect. */
export interface RebalanceInfo {
  /** Every worker serving, in slot order. */
  readonly workers: readonly RebalancedWorker[];
}

/** Every event of a cluster, with its arguments. Events about one worker pass the worker first, as in recluster. */
export interface ClusterEvents {
  /** A worker process was forked for `slot`. */
  fork: [worker: Worker, slot: number, generation: number];
  /** The worker process is running (its script has not necessarily run yet). */
  online: [worker: Worker];
  /** The worker called `listen()`; once per call. */
  listening: [worker: Worker, address: Address];
  /** The worker is ready, per `readyWhen`; once per worker. */
  ready: [worker: Worker, detail: ReadyDetail];
  /** The worker's IPC channel closed. */
  disconnect: [worker: Worker];
  /** The worker process exited. */
  exit: [worker: Worker, code: number | null, signal: NodeJS.Signals | null];
  /** The worker sent a message (Qilin's own `qilin:` messages are not passed on). */
  message: [worker: Worker, message: unknown];
  /** A slot will get a new worker after `delay` ms; `previous` is the worker that left it, if any. */
  respawn: [slot: number, delay: number, previous: Worker | null];
  /** A running worker is being replaced; it is stopped once its replacement is ready. */
  replace: [worker: Worker, reason: ReplaceReason];
  /** A starting worker is still not ready a few seconds after its fork; it is logged with a hint. */
  slowStart: [worker: Worker, info: SlowStart];
  /** A worker ran out of file descriptors (it cannot accept connections until some close), or has some again. */
  descriptors: [worker: Worker, info: DescriptorsInfo];
  /** With round-robin, connections handed to a worker never reached it (it was out of file descriptors); they went to other workers. */
  handoffsLost: [worker: Worker, info: HandoffsLost];
  /** A retiring worker's deadline (`timeout`) ended requests or connections still under way. */
  cut: [worker: Worker, info: CutInfo];
  /**
   * With the workers accepting (`balance: 'reuseport'` or `'kernel'`) and `rebalance`, some workers held more of the busy kept-alive connections than
   * their share: they asked that many clients to come back on a new connection, for the kernel to give to idle workers.
   */
  rebalance: [info: RebalanceInfo];
  /** A reload began (a reload asked for during another starts when that one ends). */
  reloadStart: [info: ReloadStart];
  /** With `canary`, the reload's first new worker serves beside the previous ones before any is replaced. */
  canaryStart: [info: CanaryStart];
  /** The canary window ended: the reload goes on, or (`passed` false) the canary retires and the reload fails. */
  canaryEnd: [info: CanaryEnd];
  /** A reload ended with every slot served by the new generation. */
  reloadEnd: [result: ReloadResult];
  /** A reload was aborted; the previous workers keep serving. */
  reloadFailed: [error: ReloadError];
  /** The admin interface is listening, at this address (`127.0.0.1:9000`, `[::1]:9000` or `unix:/path`): the port chosen when 0 was asked. */
  adminListening: [address: string];
  /** The first generation could not start (a StartError), or something unexpected happened. Never thrown. */
  error: [error: Error];
}
