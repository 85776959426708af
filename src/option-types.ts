// The cluster's options as users write them and as the pipeline resolves them: the public types, with their defaults in JSDoc.
import type { AdminOptions, ResolvedAdminOptions } from './admin/options.js';

/** A duration: a number of seconds (as in recluster), or a string with a unit read by `ms`: `'500ms'`, `'30s'`, `'1h'`. */
export type Duration = number | string;

/** When a starting worker counts as ready to serve. */
export type ReadyWhen = 'listening' | 'started' | 'ready';

/**
 * How connections reach workers: `'kernel'`, each worker accepts on the shared listening socket;
 * `'reuseport'`, each slot's workers accept on that slot's own reusePort socket, and the kernel hashes each
 * connection to one; `'round-robin'`, the primary accepts each one and relays it to the next worker;
 * `'sticky'`, the primary relays each to the worker its client's address maps to.
 */
export type Balance = 'kernel' | 'reuseport' | 'round-robin' | 'sticky';

/** Whether the primary accepts every connection and relays it ('round-robin', 'sticky'), rather than the workers accepting their own. */
export function relays(balance: Balance): boolean {
  return balance === 'round-robin' || balance === 'sticky';
}

/** How `reload()` replaces workers. */
export type ReloadStrategy = 'all' | 'rolling';

/** Files or folders to watch, and how: a change to a code or config file, after a quiet period, reloads the cluster once. */
export interface WatchOptions {
  /** Files or folders to watch (folders recursively), relative to the primary's working directory. */
  readonly paths: string | readonly string[];
  /** Quiet period after the last change before the reload, so saving twenty files reloads once. @default '500ms' */
  readonly delay?: Duration;
  /** Globs of paths not to watch, added to the defaults (`node_modules` and entries starting with a dot). @default [] */
  readonly ignore?: string | readonly string[];
  /**
   * Which files under a watched folder count, by the end of their name (`'js'`, `'.hbs'`, `'d.ts'`): these
   * replace the defaults; `'*'` counts every file. A watched path that is a file always counts. Log files and
   * the primary's own stdout and stderr never do. @default DEFAULT_WATCH_EXTENSIONS
   */
  readonly extensions?: string | readonly string[];
}

/** The `watch` option once resolved: absolute paths, the delay in milliseconds, every ignore glob (defaults first), and the extensions. */
export interface ResolvedWatch {
  readonly paths: readonly string[];
  readonly delay: number;
  readonly ignore: readonly string[];
  /** Lower case, without the leading dot; null when every file counts (`'*'`). */
  readonly extensions: readonly string[] | null;
}

/** Default quiet period of the file watcher, in milliseconds. */
export const DEFAULT_WATCH_DELAY = 500;
/** What the file watcher never watches unless named as a watched path itself: node_modules and dot-entries. */
export const DEFAULT_IGNORE: readonly string[] = Object.freeze(['node_modules', '.*']);
/**
 * The files under a watched folder whose change reloads by default: what a Node.js server loads once at
 * start (code, and config it reads with require or a parser). Not templates, styles or static files: a
 * server reads those per request or serves them as they are, so a change needs no reload.
 */
export const DEFAULT_WATCH_EXTENSIONS: readonly string[] = Object.freeze([
  'js',
  'mjs',
  'cjs',
  'jsx',
  'ts',
  'mts',
  'cts',
  'tsx',
  'json',
  'json5',
  'yaml',
  'yml',
  'toml',
]);

/** A console-compatible logger: only `log` is required, as in recluster. */
export interface Logger {
  log(...args: unknown[]): void;
}

/** What the cluster writes to its `logger`. */
export interface LogOptions {
  /** Respawns and replacements of workers, with the reason and the delay. @default true */
  readonly respawns?: boolean;
  /** Failed reloads, with the reason. @default true */
  readonly reloads?: boolean;
  /** Workers slow to become ready, and requests cut at a retiring worker's deadline, each with a hint. @default true */
  readonly warnings?: boolean;
}

/** Options of `recluster(file, options)`. Every field is optional. */
export interface ClusterOptions {
  /** Number of worker slots, at most 1024; `0` means one per CPU, as in recluster. `WORKER_ID` in each worker is its slot, `'0'` to `String(workers - 1)`. @default os.availableParallelism() */
  readonly workers?: number;
  /**
   * How long a retiring worker may take to finish its requests before it is sent SIGTERM: after a reload, on
   * `shutdown()`, and after a worker asked to be replaced.
   * @default 1 second, or 1 hour when NODE_ENV is 'production' (as in recluster)
   */
  readonly timeout?: Duration;
  /** Delay before a crashed worker's slot is refilled; doubles on each consecutive failed start when `backoff` is set. @default 1 second */
  readonly respawn?: Duration;
  /** Cap of the respawn delay's exponential growth; `0` turns the growth off. @default 0 */
  readonly backoff?: Duration;
  /** When a starting worker is ready: its first `'listening'`, `'started'` (up and still up after 1 s), or its `{cmd: 'ready'}` message. @default 'listening' */
  readonly readyWhen?: ReadyWhen;
  /** Arguments passed to the worker script (`process.argv.slice(2)` in the worker). @default [] */
  readonly args?: readonly string[];
  /** Node.js options for the worker processes, such as `--max-old-space-size=512`. @default [] */
  readonly execArgv?: readonly string[];
  /** What to log; `false` logs nothing. @default { respawns: true, reloads: true, warnings: true } */
  readonly log?: LogOptions | false;
  /** Where log lines go. @default console */
  readonly logger?: Logger;
  /** A starting worker not ready in this time is killed and counts as a failed start; `false` waits forever. @default 30 seconds */
  readonly readyTimeout?: Duration | false;
  /** Grace between SIGTERM and SIGKILL when a worker is stopped. @default 5 seconds */
  readonly killTimeout?: Duration;
  /** Environment variables added to the primary's for the workers; `undefined` removes one. @default {} */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory of the workers. @default the primary's */
  readonly cwd?: string;
  /** Keep the workers' stdout and stderr from the primary's; read them from `worker.process.stdout` and `.stderr`. @default false */
  readonly silent?: boolean;
  /** Serialization of IPC messages, as in `child_process.fork()`. @default 'json' */
  readonly serialization?: 'json' | 'advanced';
  /** `'all'` starts a whole new generation and retires the old one once every new worker is ready; `'rolling'` replaces `batch` slots at a time. @default 'all' */
  readonly strategy?: ReloadStrategy;
  /** With `strategy: 'rolling'`, how many slots are replaced at a time. @default 1 */
  readonly batch?: number;
  /**
   * Canary reloads: before a reload replaces any worker, one worker of the new generation serves for this long
   * in a slot of its own beside every previous worker. If it exits, or its share of 5xx responses is more than
   * `canaryErrorRate` above theirs over that window, it retires and the reload fails: nothing was replaced.
   * Needs the runtime; `false` turns it off. See docs/runtime.md. @default false
   */
  readonly canary?: Duration | false;
  /** How far above the previous workers' share of 5xx responses the canary's may be: `0.01` (or `'1%'`) is one percentage point. @default 0.01 */
  readonly canaryErrorRate?: number | string;
  /** A ready worker that sends no heartbeat for this long (blocked event loop) is replaced and killed; `false` turns the check off. Needs the runtime. @default 30 seconds */
  readonly heartbeatTimeout?: Duration | false;
  /** A worker whose resident memory exceeds this (a number of bytes, or a string with a unit: `'512MB'`) is replaced gracefully; `false` for no limit. Needs the runtime. @default false */
  readonly maxMemory?: number | string | false;
  /** Load Qilin's worker runtime into every worker (graceful draining, heartbeats, crash containment). @default true */
  readonly runtime?: boolean;
  /**
   * Reload when files change: a path or paths to watch, or `{ paths, delay, ignore, extensions }`. A burst of
   * changes to code and config files reloads once, `delay` after the last one. `node_modules`, dot-entries,
   * log files and the primary's own output are ignored. @default false
   */
  readonly watch?: string | readonly string[] | WatchOptions | false;
  /** The admin HTTP interface in the primary (status, reload, stop, scale, metrics); see docs/admin.md. @default false */
  readonly admin?: AdminOptions | false;
  /**
   * How connections reach workers: `'kernel'`, every worker accepts on one shared listening socket (the primary
   * is not in the data path); `'reuseport'` (Linux and FreeBSD, needs the runtime), each slot has a reusePort
   * socket of its own, held by the primary, and the kernel hashes each new connection to one of them (the
   * primary accepts a slot's share only while no worker of that slot does); `'round-robin'`, the primary accepts each connection and hands it to the next
   * serving worker (node:cluster's default on Linux; with the runtime, Qilin's own relay); `'sticky'` (needs
   * the runtime), the primary relays every connection from one client address to the same slot's worker.
   * Per cluster with the runtime, one per process without it: see docs/runtime.md.
   * @default 'reuseport' on Linux with the runtime, else 'kernel'; or what NODE_CLUSTER_SCHED_POLICY says ('rr', or 'none' for 'kernel') when it is set
   */
  readonly balance?: Balance;
  /**
   * With the workers accepting (`balance: 'reuseport'` or `'kernel'`, and the runtime), once a second the primary compares how many busy kept-alive
   * connections each worker holds; a worker holding more than its share asks some of those clients to
   * reconnect (their next response goes with `Connection: close`), and the kernel gives them to idle workers.
   * See docs/runtime.md. @default true (false when `runtime` is)
   */
  readonly rebalance?: boolean;
  /**
   * Keep the primary's own memory from growing reload after reload: at `run()` its V8 young generation stops
   * growing, and with `balance: 'reuseport'` or `'kernel'` (the primary relays no connection; its code runs at starts, exits
   * and reloads) V8's optimizing compilers are turned off and its memory saver on (Node 24 and later), in the
   * primary process only. Flags node was started with win. For a primary that does heavy work of its own, set
   * false. See docs/deploying.md.
   * @default true
   */
  readonly leanPrimary?: boolean;
  /**
   * On `shutdown()`, how long the cluster goes on serving, with `/readyz` answering 503, before its workers
   * start to drain: the time a load balancer (a Kubernetes Service) takes to stop sending new connections, in
   * place of a `preStop` sleep. @default 0
   */
  readonly shutdownDelay?: Duration;
}

/** Options after the pipeline: every field present, durations in milliseconds, sizes in bytes, frozen. */
export interface ResolvedOptions {
  readonly workers: number;
  readonly timeout: number;
  readonly respawn: number;
  readonly backoff: number;
  readonly readyWhen: ReadyWhen;
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  readonly log: Readonly<Required<LogOptions>>;
  readonly logger: Logger;
  /** Milliseconds, or null for no limit. */
  readonly readyTimeout: number | null;
  readonly killTimeout: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string | undefined;
  readonly silent: boolean;
  readonly serialization: 'json' | 'advanced';
  readonly strategy: ReloadStrategy;
  readonly batch: number;
  /** Milliseconds, or null when off. */
  readonly canary: number | null;
  readonly canaryErrorRate: number;
  /** Milliseconds, or null when off. */
  readonly heartbeatTimeout: number | null;
  /** Bytes, or null when off. */
  readonly maxMemory: number | null;
  readonly runtime: boolean;
  /** What to watch, or null when off. */
  readonly watch: ResolvedWatch | null;
  /** The admin interface's settings, or null when it is off. */
  readonly admin: ResolvedAdminOptions | null;
  readonly balance: Balance;
  readonly rebalance: boolean;
  readonly leanPrimary: boolean;
  /** Milliseconds. */
  readonly shutdownDelay: number;
}
