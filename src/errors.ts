// Error classes with stable `code`s, so callers branch on `err.code` rather than on message text.

/** Every error code Qilin uses. Documented in docs/errors.md. */
export type QilinErrorCode =
  | 'ERR_QILIN_INVALID_OPTION'
  | 'ERR_QILIN_NOT_RUNNING'
  | 'ERR_QILIN_SHUTTING_DOWN'
  | 'ERR_QILIN_START_FAILED'
  | 'ERR_QILIN_RELOAD_FAILED'
  | 'ERR_QILIN_UPGRADE_FAILED'
  | 'ERR_QILIN_ADMIN_LISTEN'
  | 'ERR_QILIN_ADMIN_REQUEST';

const CODE_PREFIX = 'ERR_QILIN_';

/**
 * Base class of every error Qilin throws or rejects with.
 *
 * `InvalidOptionError` must be a `TypeError` (wrong options are type errors, as in Node's own API), and a
 * class can only extend one parent, so `instanceof QilinError` is decided by the error's `code` instead of
 * its prototype chain: every error whose code starts with `ERR_QILIN_` is a QilinError.
 */
export class QilinError extends Error {
  readonly code: QilinErrorCode;

  constructor(code: QilinErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QilinError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses inherit this method: for them (`instanceof ReloadError`), the prototype chain decides, or a
    // refusal such as ERR_QILIN_SHUTTING_DOWN would pass for a failed reload. `this` is whichever class is asked.
    // biome-ignore lint/complexity/noThisInStatic: the subclass the method was inherited by, not QilinError.
    if (this !== QilinError) return Function.prototype[Symbol.hasInstance].call(this, value);
    const code: unknown = value instanceof Error ? (value as { code?: unknown }).code : undefined;
    return typeof code === 'string' && code.startsWith(CODE_PREFIX);
  }
}

/** A wrong option: names the option, what was expected and what was given. */
export class InvalidOptionError extends TypeError {
  readonly code = 'ERR_QILIN_INVALID_OPTION' as const;
  /** The option's name, dotted for nested ones (`log.respawns`). */
  readonly option: string;

  constructor(option: string, expected: string, given: unknown) {
    super(`Expected \`${option}\` to be ${expected}, got ${describeValue(given)}`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

/** Renders a value for an error message: `-1` (number), `'abc'` (string), an object's keys, a function's name. */
export function describeValue(value: unknown): string {
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  if (typeof value === 'string') return `\`${JSON.stringify(value)}\` (string)`;
  if (typeof value === 'function') return `a function${value.name ? ` \`${value.name}\`` : ''}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    let shown: string;
    try {
      shown = JSON.stringify(value);
    } catch {
      shown = Object.prototype.toString.call(value);
    }
    return `\`${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}\` (object)`;
  }
  return `\`${String(value)}\` (${typeof value})`;
}

/**
 * How a starting worker failed: it exited, it did not become ready in time, it crashed (an uncaught exception)
 * before it took over its slot, or one of its servers could not listen (the port is taken, say).
 */
export type StartFailure =
  | { readonly kind: 'exit'; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly kind: 'timeout'; readonly afterMs: number }
  | { readonly kind: 'crash'; readonly error: string }
  | { readonly kind: 'listen'; readonly code: string; readonly address: string; readonly error: string }
  | { readonly kind: 'spawn'; readonly code: string; readonly error: string }
  /** It was ready, served as a reload's canary, and failed it: `reason` says how (its 5xx share, its exit). */
  | { readonly kind: 'canary'; readonly reason: string };

/** What is known about one worker that failed to start. */
export interface FailedStart {
  readonly slot: number;
  readonly generation: number;
  readonly pid: number | undefined;
  readonly failure: StartFailure;
  /** The worker's last lines on stderr, oldest first (empty when none were written). */
  readonly stderr: readonly string[];
}

/** What the usual listen errors mean, in a few words. */
const LISTEN_HINTS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process uses this address',
  EACCES: 'not allowed: ports below 1024 need privileges',
  EADDRNOTAVAIL: 'no interface on this machine has this address',
};

/** What the usual spawn errors mean, in a few words. */
const SPAWN_HINTS: Readonly<Record<string, string>> = {
  ENOENT: 'its working directory (cwd) or the node executable does not exist',
  EACCES: 'no permission to run the node executable or to enter the working directory',
  EAGAIN: 'the system or this user has too many processes (ulimit -u)',
  EMFILE: 'the primary is out of file descriptors (ulimit -n)',
  ENFILE: "the system's limit of open files is reached",
};

/** A failed listen in words: `could not listen on port 8000: EADDRINUSE (another process uses this address)`. */
export function describeListenFailure(failure: { readonly code: string; readonly address: string }): string {
  const hint = LISTEN_HINTS[failure.code];
  return `could not listen on ${failure.address}: ${failure.code}${hint ? ` (${hint})` : ''}`;
}

/** Renders a failed start in words: `slot 1 (pid 4242) exited with code 1 before it was ready`. */
export function describeFailedStart(start: FailedStart): string {
  const who = `slot ${start.slot}${start.pid === undefined ? '' : ` (pid ${start.pid})`}`;
  const f = start.failure;
  if (f.kind === 'timeout') return `${who} was not ready within ${f.afterMs} ms`;
  if (f.kind === 'crash') return `${who} had an uncaught exception (${f.error}) before it took over its slot`;
  if (f.kind === 'listen') return `${who} ${describeListenFailure(f)}`;
  if (f.kind === 'canary') return `${who}, the canary, failed: ${f.reason}`;
  if (f.kind === 'spawn') return `${who} could not be started: ${f.error}${SPAWN_HINTS[f.code] ? ` (${SPAWN_HINTS[f.code]})` : ''}`;
  const how = f.signal ? `was killed by ${f.signal}` : `exited with code ${f.code ?? 'unknown'}`;
  return `${who} ${how} before it was ready`;
}

function withStderr(message: string, stderr: readonly string[]): string {
  return stderr.length === 0 ? message : `${message}\n  last stderr lines:\n${stderr.map((l) => `    ${l}`).join('\n')}`;
}

/** The first generation (from `run()`) could not start: a worker failed before it was ready. */
export class StartError extends QilinError {
  readonly start: FailedStart;

  constructor(start: FailedStart) {
    super('ERR_QILIN_START_FAILED', withStderr(`Workers could not start: ${describeFailedStart(start)}`, start.stderr));
    this.name = 'StartError';
    this.start = start;
  }
}

/** Which generation each slot runs, reported when a reload ends. */
export interface SlotGeneration {
  readonly slot: number;
  /** The generation of the worker serving this slot, or null when the slot has no ready worker. */
  readonly generation: number | null;
}

/** A reload was aborted: the new generation's worker in `start.slot` failed. The workers that served before keep serving. */
export class ReloadError extends QilinError {
  /** The reload's generation number. */
  readonly generation: number;
  /** The worker whose failure aborted the reload. */
  readonly start: FailedStart;
  /** Which generation serves each slot now. */
  readonly slots: readonly SlotGeneration[];

  constructor(generation: number, start: FailedStart, slots: readonly SlotGeneration[]) {
    const serving = [...new Set(slots.map((s) => s.generation))].filter((g) => g !== null).join(', ');
    super(
      'ERR_QILIN_RELOAD_FAILED',
      withStderr(
        `Reload to generation ${generation} failed: ${describeFailedStart(start)}; ` + `the previous workers keep serving (generation ${serving || 'none'})`,
        start.stderr,
      ),
    );
    this.name = 'ReloadError';
    this.generation = generation;
    this.start = start;
    this.slots = slots;
  }
}
