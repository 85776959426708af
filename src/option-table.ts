// The one table of the cluster's options: for each, its reader, its default, its flag and help line for the `qilin` command, and whether config files set it.
import { availableParallelism } from 'node:os';
import { InvalidOptionError } from './errors.js';
import {
  type Reader,
  boolean,
  directory,
  duration,
  env,
  fraction,
  integer,
  log,
  logger,
  memory,
  oneOf,
  positiveDurationOrOff,
  stringArray,
  watch,
} from './option-readers.js';
import type { Balance, ReadyWhen, ReloadStrategy, ResolvedOptions } from './option-types.js';
import { workerCount } from './worker-count.js';

/** How the command turns a flag's text into the value the reader checks. */
export type FlagValue =
  /** `'3'` becomes 3; anything else is left for the reader to refuse by name. */
  | 'integer'
  /** A bare number is seconds (as in the library); `'500ms'` is left for `ms`. */
  | 'duration'
  /** As `duration`, and `off` or `false` turn it off. */
  | 'duration-or-off'
  | 'text'
  | 'boolean'
  /** `--no-<option>`: given, it turns a default-on option off. */
  | 'negated'
  /** Repeatable; each is split into arguments, honouring quotes. */
  | 'args'
  /** Repeatable `KEY=VALUE` pairs. */
  | 'env';

/** An option's flag on the `qilin` command line. */
export interface FlagSpec {
  /** `--<name>`. */
  readonly name: string;
  readonly short?: string;
  /** What `--help` shows after the flag: `<n>`, `<d>`. */
  readonly placeholder?: string;
  readonly value: FlagValue;
  /** Its line in `--help`, with the command's default. */
  readonly help: string;
  /** The command's default where it differs from the library's (docs/cli.md says why), as a config file would write it. */
  readonly commandDefault?: string;
}

/** What a default or a check may depend on: the environment, and whether the worker runtime is on. */
export interface OptionContext {
  readonly environment: NodeJS.ProcessEnv;
  readonly runtime: boolean;
}

export interface OptionSpec<T> {
  readonly read: Reader<T>;
  readonly fallback: (context: OptionContext) => T;
  /** A check against the other options, once the value is read: throws an InvalidOptionError. */
  readonly check?: (value: T, context: OptionContext, given: unknown) => void;
  readonly flag?: FlagSpec;
  /** qilin.config.json sets it by this name. */
  readonly config: boolean;
  /**
   * A reload can change it (`reload(settings)`, or the command re-reading its config file): the new value
   * applies to the workers the reload starts, and to respawns once the reload has succeeded. The others are
   * fixed for the primary's life (balance is node:cluster's one policy per process; heartbeats are checked
   * at one pace; the primary's V8 flags are set at its start; the runtime, the watcher and the admin interface are set up once).
   */
  readonly reload: boolean;
}

/** Options the core pipeline reads itself; `admin` is read by the admin interface's own step (admin/options.ts). */
export type CoreOption = Exclude<keyof ResolvedOptions, 'admin'>;

/** A check that `option` is off when the runtime is: `why` it needs the runtime. */
function needsRuntime(option: CoreOption, why: string) {
  return (value: unknown, context: OptionContext, given: unknown): void => {
    if (!context.runtime && value !== null) throw new InvalidOptionError(option, `false when \`runtime\` is false (${why})`, given);
  };
}

/** Where the kernel spreads new connections over the reusePort sockets bound to one port (libuv uses SO_REUSEPORT_LB on FreeBSD). */
const REUSEPORT_BALANCES: ReadonlySet<string> = new Set(['linux', 'freebsd']);

/**
 * node:cluster's own setting, NODE_CLUSTER_SCHED_POLICY ('rr', or 'none': the shared socket), when it is set;
 * else a socket per slot on Linux with the runtime (docs/runtime.md says why), and the shared socket elsewhere.
 */
function balanceFrom(environment: NodeJS.ProcessEnv, runtime: boolean): Balance {
  const policy = environment.NODE_CLUSTER_SCHED_POLICY;
  if (policy === 'rr') return 'round-robin';
  if (policy === 'none') return 'kernel';
  return runtime && process.platform === 'linux' ? 'reuseport' : 'kernel';
}

const frozen = <T>(value: T): T => Object.freeze(value);

/** Every core option, in the order `qilin --help` lists the flags; `satisfies` keeps each `config` and `reload` literal for the types below. */
const TABLE = {
  workers: {
    read: workerCount,
    fallback: () => availableParallelism(),
    flag: { name: 'workers', short: 'w', placeholder: '<n>', value: 'integer', help: 'Worker processes, 1 to 1024 (default: the number of CPUs)' },
    config: true,
    reload: true,
  },
  readyWhen: {
    read: oneOf<ReadyWhen>('listening', 'started', 'ready'),
    fallback: () => 'listening',
    flag: {
      name: 'ready-when',
      placeholder: '<when>',
      value: 'text',
      help: 'listening | started | ready: when a starting worker counts as ready (default: listening)',
    },
    config: true,
    reload: true,
  },
  readyTimeout: {
    read: positiveDurationOrOff,
    fallback: () => 30_000,
    flag: {
      name: 'ready-timeout',
      placeholder: '<d>',
      value: 'duration-or-off',
      help: 'A starting worker not ready in this time failed; "off" waits forever (default: 30s)',
    },
    config: true,
    reload: true,
  },
  timeout: {
    read: duration,
    fallback: ({ environment }) => (environment.NODE_ENV === 'production' ? 3_600_000 : 1_000),
    flag: {
      name: 'timeout',
      placeholder: '<d>',
      value: 'duration',
      help: 'Time a retiring worker gets to finish its requests, on reload and shutdown (default: 30s)',
      // Long enough for real requests to finish on a reload or shutdown; the library's 1 s (or 1 h in production) is recluster's.
      commandDefault: '30s',
    },
    config: true,
    reload: true,
  },
  killTimeout: {
    read: duration,
    fallback: () => 5_000,
    flag: {
      name: 'kill-timeout',
      placeholder: '<d>',
      value: 'duration',
      help: 'Time between SIGTERM and SIGKILL for a worker that will not stop (default: 5s)',
    },
    config: true,
    reload: true,
  },
  respawn: {
    read: duration,
    fallback: () => 1_000,
    flag: { name: 'respawn', placeholder: '<d>', value: 'duration', help: "Delay before a crashed worker's slot is refilled (default: 1s)" },
    config: true,
    reload: true,
  },
  backoff: {
    read: duration,
    fallback: () => 0,
    flag: {
      name: 'backoff',
      placeholder: '<d>',
      value: 'duration',
      help: 'The respawn delay doubles on each failed start, up to this; 0 turns it off (default: 30s)',
      // A crash loop backs off up to 30 s instead of retrying every second forever.
      commandDefault: '30s',
    },
    config: true,
    reload: true,
  },
  strategy: {
    read: oneOf<ReloadStrategy>('all', 'rolling'),
    fallback: () => 'all',
    flag: {
      name: 'strategy',
      placeholder: '<s>',
      value: 'text',
      help: 'all | rolling: replace every worker at once on reload, or a batch at a time (default: all)',
    },
    config: true,
    reload: true,
  },
  batch: {
    read: integer(1),
    fallback: () => 1,
    flag: { name: 'batch', placeholder: '<n>', value: 'integer', help: 'With --strategy rolling, slots replaced at a time (default: 1)' },
    config: true,
    reload: true,
  },
  canary: {
    read: positiveDurationOrOff,
    fallback: () => null,
    check: needsRuntime('canary', 'the runtime counts the responses a canary is judged by'),
    flag: {
      name: 'canary',
      placeholder: '<d>',
      value: 'duration-or-off',
      help: 'On reload, one new worker first serves beside the old ones this long; more 5xx from it rolls the reload back (default: off)',
    },
    config: true,
    reload: true,
  },
  canaryErrorRate: {
    read: fraction,
    fallback: () => 0.01,
    flag: {
      name: 'canary-error-rate',
      placeholder: '<r>',
      value: 'text',
      help: "How far the canary's share of 5xx responses may be above the old workers': 0.01 or 1% (default: 1%)",
    },
    config: true,
    reload: true,
  },
  balance: {
    read: oneOf<Balance>('kernel', 'reuseport', 'round-robin', 'sticky'),
    fallback: ({ environment, runtime }) => balanceFrom(environment, runtime),
    check: (value, context, given) => {
      if ((value === 'sticky' || value === 'reuseport') && !context.runtime) {
        throw new InvalidOptionError(
          'balance',
          "'kernel' or 'round-robin' when `runtime` is false (the runtime takes the sockets the primary holds, and the connections it relays)",
          given,
        );
      }
      if (value === 'reuseport' && !REUSEPORT_BALANCES.has(process.platform)) {
        throw new InvalidOptionError(
          'balance',
          `'kernel', 'round-robin' or 'sticky' on ${process.platform} (reusePort sockets share out connections on Linux and FreeBSD only)`,
          given,
        );
      }
    },
    flag: {
      name: 'balance',
      placeholder: '<b>',
      value: 'text',
      help: 'reuseport | kernel | round-robin | sticky: workers accept connections themselves (on a socket per slot, or on one shared socket), the primary hands them out in turn, or by client address (default: reuseport on Linux, else kernel)',
    },
    config: true,
    reload: false,
  },
  rebalance: {
    read: boolean,
    fallback: ({ runtime }) => runtime,
    check: (value, context, given) => {
      if (value && !context.runtime) {
        throw new InvalidOptionError('rebalance', 'false when `runtime` is false (the runtime counts and recycles the connections)', given);
      }
    },
    flag: {
      name: 'no-rebalance',
      value: 'negated',
      help: 'With the workers accepting (--balance reuseport or kernel), do not ask clients of a worker holding more than its share of kept-alive connections to reconnect',
    },
    config: true,
    reload: true,
  },
  leanPrimary: {
    read: boolean,
    fallback: () => true,
    flag: {
      name: 'no-lean-primary',
      value: 'negated',
      help: "Leave the primary's V8 flags as node set them (default: its young generation stops growing; with the workers accepting, no optimizing compiler, and V8's memory saver)",
    },
    config: true,
    reload: false,
  },
  shutdownDelay: {
    read: duration,
    fallback: () => 0,
    flag: {
      name: 'shutdown-delay',
      placeholder: '<d>',
      value: 'duration',
      help: 'On SIGTERM, go on serving with /readyz answering 503 this long before draining, in place of a preStop sleep (default: 0)',
    },
    config: true,
    reload: true,
  },
  execArgv: {
    read: stringArray,
    fallback: () => frozen([]),
    flag: { name: 'node-args', placeholder: '<args>', value: 'args', help: 'Node.js options for the workers, as one string: "--max-old-space-size=512"' },
    config: true,
    reload: true,
  },
  env: {
    read: env,
    fallback: () => frozen({}),
    flag: { name: 'env', placeholder: '<KEY=VALUE>', value: 'env', help: 'An environment variable for the workers (repeatable)' },
    config: true,
    reload: true,
  },
  cwd: {
    read: directory,
    fallback: () => undefined,
    flag: { name: 'cwd', placeholder: '<dir>', value: 'text', help: 'Working directory of the workers (default: the current one)' },
    config: true,
    reload: true,
  },
  silent: {
    read: boolean,
    fallback: () => false,
    flag: { name: 'silent', value: 'boolean', help: "Do not pass the workers' stdout and stderr through" },
    config: true,
    reload: true,
  },
  // The app's own arguments come after `--` on the command line, not from a flag.
  args: { read: stringArray, fallback: () => frozen([]), config: true, reload: true },
  serialization: { read: oneOf('json', 'advanced'), fallback: () => 'json', config: true, reload: true },
  runtime: { read: boolean, fallback: () => true, config: true, reload: false },
  heartbeatTimeout: {
    read: positiveDurationOrOff,
    fallback: ({ runtime }) => (runtime ? 30_000 : null),
    check: needsRuntime('heartbeatTimeout', 'heartbeats come from the runtime'),
    config: true,
    reload: false,
  },
  maxMemory: { read: memory, fallback: () => null, check: needsRuntime('maxMemory', 'memory is reported by the runtime'), config: true, reload: true },
  // The command does its own output, and reads `watch` in parts (--watch, --watch-delay, ...).
  log: { read: log, fallback: () => frozen({ respawns: true, reloads: true, warnings: true }), config: false, reload: true },
  logger: { read: logger, fallback: () => console, config: false, reload: true },
  watch: { read: watch, fallback: () => null, config: false, reload: false },
} satisfies { readonly [K in CoreOption]: OptionSpec<ResolvedOptions[K]> };

export const OPTIONS: { readonly [K in CoreOption]: OptionSpec<ResolvedOptions[K]> } = TABLE;

/** The core options whose table entry has `mark: true`, derived from the table so a new entry needs no second list. */
type Marked<Mark extends 'config' | 'reload'> = { [K in CoreOption]: (typeof TABLE)[K][Mark] extends true ? K : never }[CoreOption];

/** The core options, in table order. */
export const CORE_OPTIONS = Object.keys(OPTIONS) as CoreOption[];

/** The options a config file or a flag sets by their library name (the table's `config: true`). */
export type ConfigOption = Marked<'config'>;

/** The core options a reload cannot change (the table's `reload: false`). */
export type FixedCoreOption = Exclude<CoreOption, Marked<'reload'>>;

/** The options a config file or a flag may set, in table order. */
export const CONFIG_OPTIONS = CORE_OPTIONS.filter((key): key is ConfigOption => OPTIONS[key].config);

/** The options a reload can change, in table order. */
export const RELOAD_OPTIONS: readonly CoreOption[] = Object.freeze(CORE_OPTIONS.filter((key) => OPTIONS[key].reload));
