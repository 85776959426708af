// Reads the command line into settings (by the library's option names) with where each came from; no I/O.
import { parseArgs } from 'node:util';
import { ADMIN_COMMANDS, type AdminCommand } from './admin-command-names.js';
import { ADMIN_SERVER_FLAGS } from './admin-config.js';
import { closestName } from '../suggest.js';
import { CONFIG_OPTIONS, CORE_OPTIONS, type FlagValue, OPTIONS } from '../option-table.js';
import { CliError } from './errors.js';
import { pm2Hint } from './pm2.js';
import type { AdminSettings, Origin, Settings, SourcedSettings, WatchSettings } from './settings-types.js';

/**
 * The admin client's command when the command line is one: its first word is exactly `status`, `reload`,
 * `stop` or `scale`. Anything else (an option first, `./status`) runs an app, so an app file with one of
 * these names is run as `qilin ./status`.
 */
export function adminCommandOf(argv: readonly string[]): AdminCommand | null {
  const first = argv[0];
  return first !== undefined && (ADMIN_COMMANDS as readonly string[]).includes(first) ? (first as AdminCommand) : null;
}

interface FlagOption {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}

/** The flags of the library's options, from the option table, as parseArgs takes them. */
const OPTION_FLAGS: Readonly<Record<string, FlagOption>> = Object.fromEntries(
  CORE_OPTIONS.flatMap((key) => {
    const flag = OPTIONS[key].flag;
    if (!flag) return [];
    const spec: FlagOption = {
      type: flag.value === 'boolean' || flag.value === 'negated' ? 'boolean' : 'string',
      ...(flag.short === undefined ? {} : { short: flag.short }),
      ...(flag.value === 'args' || flag.value === 'env' ? { multiple: true } : {}),
    };
    return [[flag.name, spec]];
  }),
);

/** Every flag: the library's options', then the command's own. */
const FLAGS: Readonly<Record<string, FlagOption>> = {
  ...OPTION_FLAGS,
  'pid-file': { type: 'string' },
  watch: { type: 'string', multiple: true },
  'watch-delay': { type: 'string' },
  ignore: { type: 'string', multiple: true },
  'watch-ext': { type: 'string', multiple: true },
  config: { type: 'string', short: 'c' },
  'log-format': { type: 'string' },
  // --admin, --admin-user, --admin-password, --admin-token, --admin-public-health, --admin-ready-threshold: the library's `admin` keys.
  ...ADMIN_SERVER_FLAGS,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
};

/** A flag's text as the value its option's reader checks. */
function flagValue(kind: FlagValue, value: string | boolean | (string | boolean)[]): unknown {
  switch (kind) {
    case 'integer':
      return integerOrRaw(String(value));
    case 'duration':
      return durationOrRaw(String(value));
    case 'duration-or-off':
      return durationOrRaw(String(value), true);
    case 'args':
      return (value as string[]).flatMap(splitArgs);
    case 'env':
      return envPairs(value as string[]);
    case 'negated':
      return value !== true;
    default:
      return value;
  }
}

/** What the command line asks for. */
export interface CommandLine {
  readonly help: boolean;
  readonly version: boolean;
  /** `--config <file>`, as given. */
  readonly config: string | undefined;
  readonly flags: SourcedSettings;
}

const WHOLE_NUMBER = /^-?\d+$/;
const SECONDS = /^\d+(\.\d+)?$/;

/** `'3'` becomes 3; anything else stays a string for the pipeline to refuse by name. */
function integerOrRaw(value: string): number | string {
  return WHOLE_NUMBER.test(value.trim()) ? Number(value) : value;
}

/** A bare number is seconds (as in the library); `'500ms'` stays a string for `ms`; `off` and `false` turn a timeout off. */
export function durationOrRaw(value: string, canBeOff = false): number | string | false {
  const trimmed = value.trim();
  if (canBeOff && (trimmed === 'off' || trimmed === 'false')) return false;
  return SECONDS.test(trimmed) ? Number(trimmed) : value;
}

/** Splits `--node-args "--max-old-space-size=512 --title 'my app'"` into arguments, honouring quotes. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  let has = false;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = null;
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(current);
      current = '';
      has = false;
    } else {
      current += c;
      has = true;
    }
  }
  if (quote) throw new CliError('ERR_QILIN_USAGE', `Unclosed ${quote} in \`--node-args\`: ${line}`);
  if (has) out.push(current);
  return out;
}

function envPairs(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError('ERR_QILIN_USAGE', `Expected \`--env\` to be KEY=VALUE, got \`${pair}\``);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** The long flags, as typed (`--workers`), for did-you-mean. */
const LONG_FLAGS = Object.keys(FLAGS).map((name) => `--${name}`);

/**
 * "Unknown option `--worker`; did you mean `--workers`?", or a pointer at --help when no flag is close.
 * Only long flags are suggested: any one letter is one edit from every short flag.
 */
function unknownOption(option: string): string {
  const suggestion = option.startsWith('--') ? closestName(option, LONG_FLAGS) : undefined;
  return suggestion === undefined
    ? `Unknown option \`${option}\`. Run \`qilin --help\` for the options.`
    : `Unknown option \`${option}\`; did you mean \`${suggestion}\`? Run \`qilin --help\` for the options.`;
}

/** Turns node's parseArgs errors into one line that names the flag and points at --help. */
function usageError(error: unknown): CliError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
    return new CliError('ERR_QILIN_USAGE', unknownOption(unknown[1] as string));
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(message);
  if (missing) return new CliError('ERR_QILIN_USAGE', `Option \`${missing[1]}\` needs a value. Run \`qilin --help\` for the options.`);
  const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
  if (noValue) return new CliError('ERR_QILIN_USAGE', `Option \`${noValue[1]}\` takes no value. Run \`qilin --help\` for the options.`);
  return new CliError('ERR_QILIN_USAGE', `${message} Run \`qilin --help\` for the options.`);
}

/**
 * An option that takes a value takes the next word, whatever it starts with, as getopt does: node's
 * parseArgs refuses `--node-args --max-old-space-size=512` and `--workers -1` as ambiguous, so such
 * pairs are joined into `--node-args=--max-old-space-size=512` first.
 */
function joinValues(argv: readonly string[]): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, spec] of Object.entries(FLAGS)) {
    if (spec.type !== 'string') continue;
    takesValue.set(`--${name}`, name);
    if ('short' in spec) takesValue.set(`-${spec.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i] as string;
    if (word === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = takesValue.get(word);
    if (name !== undefined && i + 1 < argv.length && (argv[i + 1] as string).startsWith('-')) {
      out.push(`--${name}=${argv[i + 1] as string}`);
      i += 1;
    } else {
      out.push(word);
    }
  }
  return out;
}

/**
 * Parses `qilin [options] <app.js> [-- app args...]`. Values are turned into the library's types where
 * they plainly are one (a whole number of workers, a bare number of seconds); anything else is passed
 * on as written, so the library's pipeline refuses it with the flag's name. A line in PM2's form
 * (`start app.js`, `-i 4`) is refused with Qilin's form of it.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const words = joinValues(argv);
  // PM2's words (`start`, `-i 4`) are answered with Qilin's form before anything else is said about them.
  const habit = pm2Hint(words);
  if (habit !== null) throw new CliError('ERR_QILIN_USAGE', habit);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true; tokens: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: words, options: FLAGS, allowPositionals: true, tokens: true, strict: true });
  } catch (error) {
    throw usageError(error);
  }
  const { values, tokens } = parsed;
  const terminator = tokens.find((t) => t.kind === 'option-terminator');
  const before = tokens.filter((t) => t.kind === 'positional' && (!terminator || t.index < terminator.index)).map((t) => (t as { value: string }).value);
  const after = tokens.filter((t) => t.kind === 'positional' && terminator && t.index > terminator.index).map((t) => (t as { value: string }).value);
  if (before.length > 1) {
    throw new CliError(
      'ERR_QILIN_USAGE',
      `Unexpected argument \`${before[1]}\` after the app \`${before[0]}\`: put the app's own arguments after \`--\`, as in \`qilin ${before[0]} -- ${before.slice(1).join(' ')}\`.`,
    );
  }

  const settings: Settings = {};
  const origins = new Map<string, Origin>();
  const set = <K extends keyof Settings>(key: K, value: Settings[K], flag: string): void => {
    settings[key] = value;
    origins.set(key, { kind: 'flag', flag });
  };

  if (before[0] !== undefined) set('app', before[0], 'app');
  if (terminator) set('args', after, 'app arguments (after --)');
  for (const key of CONFIG_OPTIONS) {
    const flag = OPTIONS[key].flag;
    const value = flag ? values[flag.name] : undefined;
    if (flag && value !== undefined) set(key, flagValue(flag.value, value), `--${flag.name}`);
  }
  const text = (name: string): string | undefined => values[name] as string | undefined;
  const list = (name: string): string[] | undefined => values[name] as string[] | undefined;
  if (text('pid-file') !== undefined) set('pidFile', text('pid-file'), '--pid-file');
  if (text('log-format') !== undefined) set('logFormat', text('log-format'), '--log-format');

  const watch: WatchSettings = {};
  if (values.watch !== undefined) {
    watch.paths = list('watch');
    origins.set('watch.paths', { kind: 'flag', flag: '--watch' });
  }
  if (values['watch-delay'] !== undefined) {
    watch.delay = durationOrRaw(text('watch-delay') as string);
    origins.set('watch.delay', { kind: 'flag', flag: '--watch-delay' });
  }
  if (values.ignore !== undefined) {
    watch.ignore = list('ignore');
    origins.set('watch.ignore', { kind: 'flag', flag: '--ignore' });
  }
  if (values['watch-ext'] !== undefined) {
    // `--watch-ext js,ts,hbs`, or the flag repeated; an empty list is left for the pipeline to refuse.
    watch.extensions = (list('watch-ext') ?? [])
      .flatMap((given) => given.split(','))
      .map((ext) => ext.trim())
      .filter((ext) => ext !== '');
    origins.set('watch.extensions', { kind: 'flag', flag: '--watch-ext' });
  }
  if (Object.keys(watch).length > 0) settings.watch = watch;

  const admin: AdminSettings = {};
  const adminFlag = <K extends keyof AdminSettings>(key: K, value: AdminSettings[K] | undefined, flag: string): void => {
    if (value === undefined) return;
    admin[key] = value;
    origins.set(`admin.${key}`, { kind: 'flag', flag });
  };
  adminFlag('listen', values.admin, '--admin');
  adminFlag('username', values['admin-user'], '--admin-user');
  adminFlag('password', values['admin-password'], '--admin-password');
  adminFlag('token', values['admin-token'], '--admin-token');
  adminFlag('publicHealth', values['admin-public-health'], '--admin-public-health');
  const threshold = text('admin-ready-threshold');
  adminFlag('readyThreshold', threshold === undefined ? undefined : integerOrRaw(threshold), '--admin-ready-threshold');
  if (Object.keys(admin).length > 0) settings.admin = admin;

  return {
    help: values.help === true,
    version: values.version === true,
    config: text('config'),
    flags: { settings, origins },
  };
}
