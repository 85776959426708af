// The command's settings: one shape for flags and config files, merged (flags win), then validated by the library's pipeline.
import { ADMIN_ENV, type DaemonConfigAdmin, adminFromDaemonConfig } from '../admin/config.js';
import type { AdminOptions } from '../admin/options.js';
import { InvalidOptionError } from '../errors.js';
import { type ClusterOptions, type ResolvedOptions, resolveOptions } from '../options.js';
import { CliError } from './errors.js';

/** The admin interface's settings as given (`--admin ...` flags, qilin.config.json's `admin`): the library's `admin` keys. */
export interface AdminSettings {
  listen?: unknown;
  username?: unknown;
  password?: unknown;
  token?: unknown;
  publicHealth?: unknown;
}

/** The keys of `admin`, as in the library's option. */
export const ADMIN_KEYS = ['listen', 'username', 'password', 'token', 'publicHealth'] as const satisfies readonly (keyof AdminSettings & keyof AdminOptions)[];

/** The flag of each admin key. */
const ADMIN_FLAG_OF: Readonly<Record<keyof AdminSettings, string>> = {
  listen: '--admin',
  username: '--admin-user',
  password: '--admin-password',
  token: '--admin-token',
  publicHealth: '--admin-public-health',
};

/** The qilin-daemon.json key of each admin key it has. */
const DAEMON_KEY_OF: Readonly<Partial<Record<keyof AdminSettings, string>>> = {
  listen: 'daemon_port',
  username: 'auth_username',
  password: 'auth_password',
};

type Env = Readonly<Record<string, string | undefined>>;

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
  /** `false` turns the admin interface off. */
  admin?: AdminSettings | false;
  /** A qilin-daemon.json's `daemon_port`, `auth_username` and `auth_password`, read with the environment when the plan is made. */
  daemonAdmin?: DaemonConfigAdmin;
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
  | { readonly kind: 'env'; readonly variable: string }
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
    } else if (key === 'admin' && value !== false && settings.admin) {
      settings.admin = { ...settings.admin, ...dropUndefined(value as AdminSettings) };
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

/** The setting an option name belongs to: `watch.delay` for `watch.delay`, `admin.listen` for `admin.listen`, `env` for `env.PORT`, `args` for `args[0]`. */
function settingOf(option: string): string {
  if (option.startsWith('watch.') || option.startsWith('admin.')) return option.replace(/^((?:watch|admin)\.[a-z]+).*$/i, '$1');
  return option.split(/[.[]/)[0] ?? option;
}

function isAdminKey(key: string): key is keyof AdminSettings {
  return (ADMIN_KEYS as readonly string[]).includes(key);
}

/**
 * How the user would write an admin key that was not given (an error says it is missing): in the same place
 * as the address, `--admin-password` beside `--admin`, `auth_password` in a qilin-daemon.json.
 */
function missingAdminName(key: keyof AdminSettings, origins: ReadonlyMap<string, Origin>): string | undefined {
  const listen = origins.get('admin.listen');
  const variable = key === 'password' ? ADMIN_ENV.password : key === 'token' ? ADMIN_ENV.token : undefined;
  const orVariable = variable ? ` (or ${variable})` : '';
  if (listen?.kind === 'flag') return `\`${ADMIN_FLAG_OF[key]}\`${orVariable}`;
  if (listen?.kind === 'file') {
    const daemonKey = listen.key === 'daemon_port' ? DAEMON_KEY_OF[key] : `admin.${key}`;
    return daemonKey ? `\`${daemonKey}\` in ${listen.file}${orVariable}` : undefined;
  }
  return undefined;
}

/** Where an option came from: its own setting, else the part of the config it belongs to. */
function originOf(option: string, origins: ReadonlyMap<string, Origin>): Origin | undefined {
  const setting = settingOf(option);
  if (setting.startsWith('admin.')) return origins.get(setting) ?? origins.get('admin.listen');
  return origins.get(setting) ?? origins.get('watch');
}

/** How the user wrote a setting: `--workers`, `--env PORT`, `` `reload_delay` in /srv/qilin-daemon.json ``. */
export function displayName(option: string, origins: ReadonlyMap<string, Origin>): string {
  const setting = settingOf(option);
  const origin = origins.get(setting) ?? (setting.startsWith('watch.') ? origins.get('watch') : undefined);
  const rest = option.slice(setting.length);
  if (!origin) {
    const key = setting.slice('admin.'.length);
    if (setting.startsWith('admin.') && isAdminKey(key)) return missingAdminName(key, origins) ?? `\`${option}\``;
    return `\`${option}\``;
  }
  if (origin.kind === 'flag') {
    if (setting === 'env' && rest.startsWith('.')) return `\`${origin.flag} ${rest.slice(1)}\``;
    return `\`${origin.flag}\``;
  }
  if (origin.kind === 'env') return `\`${origin.variable}\``;
  if (origin.kind === 'default') return `\`${option}\` (${origin.what})`;
  return `\`${origin.key}${rest}\` in ${origin.file}`;
}

/** A setting named inside a message about another: as `displayName`, without the file the message names already. */
function mentionName(option: string, origins: ReadonlyMap<string, Origin>): string {
  const shown = displayName(option, origins);
  const origin = originOf(option, origins);
  return origin?.kind === 'file' ? shown.replace(` in ${origin.file}`, '') : shown;
}

/** Options whose values are secrets: an error about one does not repeat the value. */
const SECRET_OPTIONS = new Set(['admin.password', 'admin.token', 'auth_password']);

/** Rewrites a library InvalidOptionError so it names the flag or config key the value came from. */
export function renameError(error: InvalidOptionError, origins: ReadonlyMap<string, Origin>): CliError {
  const origin = originOf(error.option, origins);
  const [before, ...after] = error.message.split(`\`${error.option}\``);
  // The admin interface's messages name its other keys too (`set \`admin.username\` and \`admin.password\``):
  // those are named as the user would write them, without repeating the file.
  const mentions = (text: string): string => text.replace(/`(admin\.[a-zA-Z]+)`/g, (_, option: string) => mentionName(option, origins));
  let message = after.length === 0 ? mentions(error.message) : `${mentions(before ?? '')}${displayName(error.option, origins)}${mentions(after.join(`\`${error.option}\``))}`;
  if (SECRET_OPTIONS.has(error.option) && !message.endsWith('got `undefined`')) message = message.replace(/, got [\s\S]*$/, ', got a value not shown here (a secret)');
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
  /** The `admin` option as given to the library (credentials from the environment filled in), or null when off. */
  readonly admin: AdminOptions | null;
  /** What the command should say before it starts about how it read the settings (a qilin-daemon.json's `daemon_port`). */
  readonly notes: readonly string[];
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

const nonEmptyValue = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The `admin` option from the merged settings: a qilin-daemon.json's keys (through `adminFromDaemonConfig`),
 * then qilin.config.json's `admin` and the `--admin` flags over them key by key, then QILIN_ADMIN_PASSWORD and
 * QILIN_ADMIN_TOKEN for a secret neither set. Records where each key came from in `origins`.
 */
function adminFrom(settings: Settings, origins: Map<string, Origin>, env: Env): { admin: AdminSettings | null; notes: string[] } {
  const notes: string[] = [];
  let admin: AdminSettings = {};
  const daemon = settings.daemonAdmin;
  if (daemon) {
    let mapped;
    try {
      mapped = adminFromDaemonConfig(daemon, env);
    } catch (error) {
      if (error instanceof InvalidOptionError) throw renameError(error, origins);
      throw error;
    }
    notes.push(...mapped.notes);
    if (mapped.admin) {
      admin = { ...mapped.admin };
      for (const [key, daemonKey] of Object.entries(DAEMON_KEY_OF)) {
        const origin = origins.get(daemonKey);
        if (admin[key as keyof AdminSettings] === undefined) continue;
        if (origin && nonEmptyValue(daemon[daemonKey as keyof DaemonConfigAdmin])) origins.set(`admin.${key}`, origin);
        else if (key === 'password') origins.set('admin.password', { kind: 'env', variable: ADMIN_ENV.password });
      }
      if (admin.token !== undefined) origins.set('admin.token', { kind: 'env', variable: ADMIN_ENV.token });
    } else if (daemon.auth_username !== undefined || daemon.auth_password !== undefined) {
      notes.push('auth_username and auth_password are not used without daemon_port: the admin interface is off');
    }
  }
  if (settings.admin === false) return { admin: null, notes };
  admin = { ...admin, ...dropUndefined(settings.admin ?? {}) };
  if (admin.listen === undefined) {
    const given = ADMIN_KEYS.find((key) => admin[key] !== undefined);
    if (given === undefined) return { admin: null, notes };
    const origin = origins.get(`admin.${given}`);
    throw new CliError(
      origin?.kind === 'file' ? 'ERR_QILIN_CONFIG' : 'ERR_QILIN_USAGE',
      `${displayName(`admin.${given}`, origins)} needs an address to listen on: add \`--admin <port | host:port | unix:/path>\`, or \`admin.listen\` in qilin.config.json`,
    );
  }
  // The secrets from the environment, as for `qilin status`: a password without a user name is left out when a token is there.
  const password = nonEmpty(env[ADMIN_ENV.password]);
  if (admin.password === undefined && password !== undefined && (admin.username !== undefined || admin.token === undefined)) {
    admin.password = password;
    origins.set('admin.password', { kind: 'env', variable: ADMIN_ENV.password });
  }
  const token = nonEmpty(env[ADMIN_ENV.token]);
  if (admin.token === undefined && token !== undefined) {
    admin.token = token;
    origins.set('admin.token', { kind: 'env', variable: ADMIN_ENV.token });
  }
  return { admin, notes };
}

/**
 * Turns merged settings into a plan: applies the command's defaults, checks the command's own settings,
 * and runs every library option through `resolveOptions`, the library's one pipeline, so a wrong value
 * is reported the same way everywhere, under the name the user wrote it with. `env` gives the admin
 * interface's secrets (QILIN_ADMIN_PASSWORD, QILIN_ADMIN_TOKEN) when no flag or config key does.
 */
export function planFrom(
  { settings, origins: givenOrigins }: SourcedSettings,
  cwd: string,
  resolvePath: (base: string, p: string) => string,
  env: Env = {},
): Plan {
  const origins = new Map(givenOrigins);
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
  const { admin, notes } = adminFrom(settings, origins, env);
  if (admin) given.admin = admin;
  const clusterOptions = { ...given, log: false } as ClusterOptions;
  let options: ResolvedOptions;
  try {
    options = resolveOptions(clusterOptions);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw renameError(error, origins);
    throw error;
  }
  return { app, options, clusterOptions, pidFile, logFormat, psName, admin: admin ? (admin as AdminOptions) : null, notes };
}
