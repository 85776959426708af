// The command's settings: one shape for flags and config files, merged (flags win), then validated by the library's pipeline.
import { InvalidOptionError } from '../errors.js';
import { type ClusterOptions, type ResolvedOptions, resolveOptions } from '../options.js';
import { CliError } from './errors.js';

/** The admin interface's settings, read from a qilin-daemon.json (`daemon_port`, `auth_username`, `auth_password`). */
export interface AdminSettings {
  readonly port?: number;
  readonly username?: string;
  readonly password?: string;
}

/** Watch settings as given: each part may come from a different place (paths from a file, delay from a flag). */
export interface WatchSettings {
  paths?: unknown;
  delay?: unknown;
  ignore?: unknown;
}

/**
 * Everything the command can be told, by the library's option names plus the command's own (`app`,
 * `pidFile`, `logFormat`, `psName`, `admin`). Values are as given (flags already turned into numbers where
 * they look like one); the library's pipeline validates them.
 */
export interface Settings {
  app?: unknown;
  args?: unknown;
  workers?: unknown;
  readyWhen?: unknown;
  readyTimeout?: unknown;
  timeout?: unknown;
  killTimeout?: unknown;
  respawn?: unknown;
  backoff?: unknown;
  strategy?: unknown;
  batch?: unknown;
  execArgv?: unknown;
  env?: unknown;
  cwd?: unknown;
  silent?: unknown;
  serialization?: unknown;
  heartbeatTimeout?: unknown;
  maxMemory?: unknown;
  runtime?: unknown;
  /** `false` turns watching off even where a config file turns it on. */
  watch?: WatchSettings | false;
  pidFile?: unknown;
  logFormat?: unknown;
  psName?: unknown;
  admin?: AdminSettings;
}

/** The library options a config file or flag may set (not `log` or `logger`: the command does its own output). */
export const LIBRARY_KEYS = [
  'workers',
  'readyWhen',
  'readyTimeout',
  'timeout',
  'killTimeout',
  'respawn',
  'backoff',
  'strategy',
  'batch',
  'args',
  'execArgv',
  'env',
  'cwd',
  'silent',
  'serialization',
  'heartbeatTimeout',
  'maxMemory',
  'runtime',
] as const satisfies readonly (keyof ClusterOptions & keyof Settings)[];

/** Where a setting came from, to name it in an error the way the user wrote it. */
export type Origin =
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'file'; readonly file: string; readonly key: string }
  | { readonly kind: 'default'; readonly what: string };

/** Settings plus where each came from, by setting name (`workers`, `watch.delay`, `env`). */
export interface SourcedSettings {
  readonly settings: Settings;
  readonly origins: ReadonlyMap<string, Origin>;
}

/** The command's own defaults, where they differ from the library's (see docs/cli.md for why). */
export const CLI_DEFAULTS = {
  /** Long enough for real requests to finish on a reload or shutdown; the library's 1 s (or 1 h in production) is recluster's. */
  timeout: '30s',
  /** A crash loop backs off up to 30 s instead of retrying every second forever. */
  backoff: '30s',
} as const;

/** Merges config file settings with flag settings: a flag wins; `env` is merged per variable; watch per part. */
export function mergeSettings(file: SourcedSettings, flags: SourcedSettings): SourcedSettings {
  const settings: Settings = { ...file.settings };
  const origins = new Map(file.origins);
  for (const [key, value] of Object.entries(flags.settings) as [keyof Settings, unknown][]) {
    if (value === undefined) continue;
    if (key === 'env' && isRecord(settings.env) && isRecord(value)) {
      settings.env = { ...settings.env, ...value };
    } else if (key === 'watch' && value !== false && settings.watch) {
      settings.watch = { ...settings.watch, ...dropUndefined(value as WatchSettings) };
    } else {
      (settings as Record<string, unknown>)[key] = value;
    }
  }
  for (const [key, origin] of flags.origins) origins.set(key, origin);
  return { settings, origins };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The setting an option name belongs to: `watch.delay` for `watch.delay`, `env` for `env.PORT`, `args` for `args[0]`. */
function settingOf(option: string): string {
  if (option.startsWith('watch.')) return option.replace(/^(watch\.[a-z]+).*$/i, '$1');
  return option.split(/[.[]/)[0] ?? option;
}

/** How the user wrote a setting: `--workers`, `--env PORT`, `` `reload_delay` in /srv/qilin-daemon.json ``. */
export function displayName(option: string, origins: ReadonlyMap<string, Origin>): string {
  const setting = settingOf(option);
  const origin = origins.get(setting) ?? (setting.startsWith('watch.') ? origins.get('watch') : undefined);
  const rest = option.slice(setting.length);
  if (!origin) return `\`${option}\``;
  if (origin.kind === 'flag') {
    if (setting === 'env' && rest.startsWith('.')) return `\`${origin.flag} ${rest.slice(1)}\``;
    return `\`${origin.flag}\``;
  }
  if (origin.kind === 'default') return `\`${option}\` (${origin.what})`;
  return `\`${origin.key}${rest}\` in ${origin.file}`;
}

/** Rewrites a library InvalidOptionError so it names the flag or config key the value came from. */
export function renameError(error: InvalidOptionError, origins: ReadonlyMap<string, Origin>): CliError {
  const origin = origins.get(settingOf(error.option)) ?? origins.get('watch');
  const shown = displayName(error.option, origins);
  const message = error.message.replace(`\`${error.option}\``, shown);
  return new CliError(origin?.kind === 'file' ? 'ERR_QILIN_CONFIG' : 'ERR_QILIN_USAGE', message, { cause: error });
}

/** What the command runs, once every setting has been checked. */
export interface Plan {
  /** Absolute path of the app. */
  readonly app: string;
  readonly options: ResolvedOptions;
  /** The same options as given to `recluster()`, with `log: false` (the command prints events itself). */
  readonly clusterOptions: ClusterOptions;
  readonly pidFile: string | null;
  readonly logFormat: 'human' | 'json';
  readonly psName: string | null;
  readonly admin: AdminSettings | null;
}

function cliOnly<T>(
  value: unknown,
  setting: string,
  origins: ReadonlyMap<string, Origin>,
  expected: string,
  check: (v: unknown) => v is T,
): T {
  if (check(value)) return value;
  throw renameError(new InvalidOptionError(setting, expected, value), origins);
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * Turns merged settings into a plan: applies the command's defaults, checks the command's own settings,
 * and runs every library option through `resolveOptions`, the library's one pipeline, so a wrong value
 * is reported the same way everywhere, under the name the user wrote it with.
 */
export function planFrom({ settings, origins }: SourcedSettings, cwd: string, resolvePath: (base: string, p: string) => string): Plan {
  if (settings.app === undefined) {
    throw new CliError('ERR_QILIN_USAGE', 'No app given: run `qilin [options] <app.js>`, or set `app` in qilin.config.json. See `qilin --help`.');
  }
  const app = resolvePath(cwd, cliOnly(settings.app, 'app', origins, 'the path of the app', isNonEmptyString));
  const logFormat = cliOnly(
    settings.logFormat ?? 'human',
    'logFormat',
    origins,
    "one of 'human', 'json'",
    (v): v is 'human' | 'json' => v === 'human' || v === 'json',
  );
  const pidFile =
    settings.pidFile === undefined ? null : resolvePath(cwd, cliOnly(settings.pidFile, 'pidFile', origins, 'a path', isNonEmptyString));
  const psName = settings.psName === undefined ? null : cliOnly(settings.psName, 'psName', origins, 'a non-empty string', isNonEmptyString);

  const given: Record<string, unknown> = {};
  for (const key of LIBRARY_KEYS) if (settings[key] !== undefined) given[key] = settings[key];
  given.timeout ??= CLI_DEFAULTS.timeout;
  given.backoff ??= CLI_DEFAULTS.backoff;
  const watch = settings.watch;
  if (watch) {
    if (watch.paths === undefined) {
      const which = watch.delay !== undefined ? 'watch.delay' : 'watch.ignore';
      throw new CliError(
        origins.get(which)?.kind === 'file' ? 'ERR_QILIN_CONFIG' : 'ERR_QILIN_USAGE',
        `${displayName(which, origins)} needs something to watch: add \`--watch <path>\``,
      );
    }
    given.watch = dropUndefined(watch);
  }
  const clusterOptions = { ...given, log: false } as ClusterOptions;
  let options: ResolvedOptions;
  try {
    options = resolveOptions(clusterOptions);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw renameError(error, origins);
    throw error;
  }
  return { app, options, clusterOptions, pidFile, logFormat, psName, admin: settings.admin ?? null };
}
