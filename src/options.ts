// The cluster's options: public types with defaults, and the one pipeline that copies, defaults, validates, converts and freezes them.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { type AdminOptions, type ResolvedAdminOptions, resolveAdminOptions } from './admin/options.js';
import { InvalidOptionError } from './errors.js';
import { warnUnknownKeys } from './unknown-keys.js';
import { MAX_TIMER, parseDuration, parseSize } from './units.js';
import { workerCount } from './worker-count.js';

/** A duration: a number of seconds (as in recluster), or a string with a unit read by `ms`: `'500ms'`, `'30s'`, `'1h'`. */
export type Duration = number | string;

/** When a starting worker counts as ready to serve. */
export type ReadyWhen = 'listening' | 'started' | 'ready';

/** How connections reach workers: `'kernel'`, each worker accepts on the shared listening socket; `'round-robin'`, the primary accepts each one and hands it to the next worker. */
export type Balance = 'kernel' | 'round-robin';

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
  'js', 'mjs', 'cjs', 'jsx', 'ts', 'mts', 'cts', 'tsx', 'json', 'json5', 'yaml', 'yml', 'toml',
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
   * How connections reach workers: `'kernel'`, every worker accepts on the shared listening socket (the primary
   * is not in the data path); `'round-robin'`, the primary accepts each connection and hands it to the next
   * worker (node:cluster's default on Linux). One per process: see docs/runtime.md.
   * @default 'kernel', or what NODE_CLUSTER_SCHED_POLICY says ('rr' or 'none') when it is set
   */
  readonly balance?: Balance;
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
  readonly heartbeatTimeout: number | null;
  /** Bytes, or null when off. */
  readonly maxMemory: number | null;
  readonly runtime: boolean;
  /** What to watch, or null when off. */
  readonly watch: ResolvedWatch | null;
  /** The admin interface's settings, or null when it is off. */
  readonly admin: ResolvedAdminOptions | null;
  readonly balance: Balance;
}

const DEFAULT_HEARTBEAT_TIMEOUT = 30_000;

type Reader<T> = (value: unknown, name: string) => T;

const TOO_LONG = `a duration of at most ${MAX_TIMER} ms (about 24.8 days, the longest timer Node.js supports)`;

function duration(value: unknown, name: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) {
    throw new InvalidOptionError(name, "a duration: seconds as a number, or a string with a unit such as '500ms' or '30s'", value);
  }
  if (parsed > MAX_TIMER) throw new InvalidOptionError(name, TOO_LONG, value);
  return parsed;
}

function positiveDurationOrOff(value: unknown, name: string): number | null {
  if (value === false) return null;
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed === 0) {
    throw new InvalidOptionError(name, "a duration above zero (seconds as a number, or a string such as '30s'), or false", value);
  }
  if (parsed > MAX_TIMER) throw new InvalidOptionError(name, TOO_LONG, value);
  return parsed;
}

function integer(min: number): Reader<number> {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidOptionError(name, min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`, value);
    }
    return value;
  };
}

function oneOf<T extends string>(...choices: T[]): Reader<T> {
  return (value, name) => {
    if (typeof value !== 'string' || !(choices as string[]).includes(value)) {
      throw new InvalidOptionError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
    }
    return value as T;
  };
}

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, 'a boolean', value);
  return value;
}

function stringArray(value: unknown, name: string): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(name, 'an array of strings', value);
  value.forEach((item, index) => {
    if (typeof item !== 'string') throw new InvalidOptionError(`${name}[${index}]`, 'a string', item);
  });
  return Object.freeze([...(value as string[])]);
}

function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, 'an object', value);
  }
  return value as Record<string, unknown>;
}

function env(value: unknown, name: string): Readonly<Record<string, string | undefined>> {
  const input = plainObject(value, name);
  const out: Record<string, string | undefined> = {};
  for (const [key, item] of Object.entries(input)) {
    if (item !== undefined && typeof item !== 'string') {
      throw new InvalidOptionError(`${name}.${key}`, 'a string, or undefined to remove the variable', item);
    }
    out[key] = item;
  }
  return Object.freeze(out);
}

function log(value: unknown, name: string): Readonly<Required<LogOptions>> {
  if (value === false) return Object.freeze({ respawns: false, reloads: false, warnings: false });
  const input = plainObject(value, name);
  warnUnknownKeys(input, ['respawns', 'reloads', 'warnings'], `${name}.`);
  const read = (key: keyof LogOptions): boolean => (input[key] === undefined ? true : boolean(input[key], `${name}.${key}`));
  return Object.freeze({ respawns: read('respawns'), reloads: read('reloads'), warnings: read('warnings') });
}

function logger(value: unknown, name: string): Logger {
  if (typeof value !== 'object' || value === null || typeof (value as Logger).log !== 'function') {
    throw new InvalidOptionError(name, 'an object with a `log` method, such as console', value);
  }
  return value as Logger;
}

function directory(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(name, 'a non-empty path', value);
  return path.resolve(value);
}

function memory(value: unknown, name: string): number | null {
  if (value === false) return null;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    throw new InvalidOptionError(name, "a size: a whole number of bytes above zero, or a string with a unit such as '512MB' or '1GB', or false", value);
  }
  return bytes;
}

function stringOrStrings(value: unknown, name: string): readonly string[] {
  if (typeof value === 'string') return Object.freeze([value]);
  return stringArray(value, name);
}

const EXTENSION = /^(?:\*?\.)?([^\s/\\*,]+)$/;

/** `'js'`, `'.JS'`, `'*.js'` and `'d.ts'` become `js` and `d.ts`; `'*'` anywhere in the list (null) counts every file. */
function extensions(value: unknown, name: string): readonly string[] | null {
  const given = stringOrStrings(value, name);
  if (given.length === 0) throw new InvalidOptionError(name, "one or more extensions such as 'js', or '*' for every file", value);
  if (given.includes('*')) return null;
  return Object.freeze(
    given.map((ext, index) => {
      const match = EXTENSION.exec(ext.trim());
      if (!match) throw new InvalidOptionError(`${name}[${index}]`, "an extension such as 'js' or '.js', or '*' for every file", ext);
      return (match[1] as string).toLowerCase();
    }),
  );
}

function watch(value: unknown, name: string): ResolvedWatch | null {
  if (value === false) return null;
  const input: Record<string, unknown> =
    typeof value === 'string' || Array.isArray(value) ? { paths: value } : plainObject(value, name);
  warnUnknownKeys(input, ['paths', 'delay', 'ignore', 'extensions'], `${name}.`);
  const paths = input.paths === undefined ? [] : stringOrStrings(input.paths, `${name}.paths`);
  if (paths.length === 0 || paths.some((p) => p === '')) {
    throw new InvalidOptionError(`${name}.paths`, 'one or more non-empty paths', input.paths);
  }
  const ignore = input.ignore === undefined ? [] : stringOrStrings(input.ignore, `${name}.ignore`);
  return Object.freeze({
    paths: Object.freeze(paths.map((p) => path.resolve(p))),
    delay: input.delay === undefined ? DEFAULT_WATCH_DELAY : duration(input.delay, `${name}.delay`),
    ignore: Object.freeze([...DEFAULT_IGNORE, ...ignore]),
    extensions: input.extensions === undefined ? DEFAULT_WATCH_EXTENSIONS : extensions(input.extensions, `${name}.extensions`),
  });
}

const KNOWN_KEYS = [
  'workers',
  'timeout',
  'respawn',
  'backoff',
  'readyWhen',
  'args',
  'execArgv',
  'log',
  'logger',
  'readyTimeout',
  'killTimeout',
  'env',
  'cwd',
  'silent',
  'serialization',
  'strategy',
  'batch',
  'heartbeatTimeout',
  'maxMemory',
  'runtime',
  'watch',
  'admin',
  'balance',
] as const satisfies readonly (keyof ClusterOptions)[];

/** node:cluster's own setting, NODE_CLUSTER_SCHED_POLICY ('rr' or 'none'), when it is set; else the kernel. */
function balanceFromEnvironment(environment: NodeJS.ProcessEnv): Balance {
  return environment.NODE_CLUSTER_SCHED_POLICY === 'rr' ? 'round-robin' : 'kernel';
}

/** Reads the worker script's path: a non-empty string, made absolute against the primary's working directory. */
export function resolveFile(file: unknown): string {
  if (typeof file !== 'string' || file === '') throw new InvalidOptionError('file', 'the path of the worker script', file);
  return path.resolve(file);
}

/**
 * The options pipeline: copy, default, validate, convert to canonical units, freeze. Throws an
 * InvalidOptionError naming the first wrong option. An unknown key is ignored with a warning (recluster
 * ignored them, and code that spreads a wider config object into the options has some). The caller's
 * object is read, never changed.
 */
export function resolveOptions(input: ClusterOptions | undefined = {}, environment: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const given = plainObject(input ?? {}, 'options');
  warnUnknownKeys(given, KNOWN_KEYS);
  const pick = <T>(key: (typeof KNOWN_KEYS)[number], read: Reader<T>, fallback: T): T =>
    given[key] === undefined ? fallback : read(given[key], key);

  const runtime = pick('runtime', boolean, true);
  const heartbeatTimeout = pick('heartbeatTimeout', positiveDurationOrOff, runtime ? DEFAULT_HEARTBEAT_TIMEOUT : null);
  const maxMemory = pick('maxMemory', memory, null);
  if (!runtime && heartbeatTimeout !== null) {
    throw new InvalidOptionError('heartbeatTimeout', 'false when `runtime` is false (heartbeats come from the runtime)', given.heartbeatTimeout);
  }
  if (!runtime && maxMemory !== null) {
    throw new InvalidOptionError('maxMemory', 'false when `runtime` is false (memory is reported by the runtime)', given.maxMemory);
  }

  return Object.freeze({
    workers: pick('workers', workerCount, availableParallelism()),
    timeout: pick('timeout', duration, environment.NODE_ENV === 'production' ? 3_600_000 : 1_000),
    respawn: pick('respawn', duration, 1_000),
    backoff: pick('backoff', duration, 0),
    readyWhen: pick('readyWhen', oneOf<ReadyWhen>('listening', 'started', 'ready'), 'listening'),
    args: pick('args', stringArray, Object.freeze([])),
    execArgv: pick('execArgv', stringArray, Object.freeze([])),
    log: pick('log', log, Object.freeze({ respawns: true, reloads: true, warnings: true })),
    logger: pick('logger', logger, console),
    readyTimeout: pick('readyTimeout', positiveDurationOrOff, 30_000),
    killTimeout: pick('killTimeout', duration, 5_000),
    env: pick('env', env, Object.freeze({})),
    cwd: pick<string | undefined>('cwd', directory, undefined),
    silent: pick('silent', boolean, false),
    serialization: pick('serialization', oneOf('json', 'advanced'), 'json'),
    strategy: pick('strategy', oneOf<ReloadStrategy>('all', 'rolling'), 'all'),
    batch: pick('batch', integer(1), 1),
    heartbeatTimeout,
    maxMemory,
    runtime,
    watch: pick('watch', watch, null),
    admin: pick('admin', resolveAdminOptions, null),
    balance: pick('balance', oneOf<Balance>('kernel', 'round-robin'), balanceFromEnvironment(environment)),
  });
}
