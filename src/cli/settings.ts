// The command's settings: one shape for flags and config files, merged (flags win), then validated by the library's pipeline.
import type { AdminOptions } from '../admin/options.js';
import { resolveClusterOptions } from '../assemble.js';
import { InvalidOptionError } from '../errors.js';
import { CONFIG_OPTIONS, type ConfigOption, OPTIONS } from '../option-table.js';
import type { ClusterOptions, ResolvedOptions } from '../options.js';
import { MAX_WORKERS, isWorkerCount } from '../worker-count.js';
import { adminFrom } from './admin-settings.js';
import { CliError } from './errors.js';
import { displayName, renameError } from './names.js';
import { type AdminSettings, type Origin, type Settings, type SourcedSettings, WATCH_KEYS, type WatchSettings } from './settings-types.js';

export type { Origin, Settings, SourcedSettings, WatchSettings } from './settings-types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The command's own defaults, where they differ from the library's: from the option table (docs/cli.md says why). */
const COMMAND_DEFAULTS: readonly [ConfigOption, string][] = CONFIG_OPTIONS.flatMap((key) => {
  const given = OPTIONS[key].flag?.commandDefault;
  return given === undefined ? [] : [[key, given] as [ConfigOption, string]];
});

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

function cliOnly<T>(value: unknown, setting: string, origins: ReadonlyMap<string, Origin>, expected: string, check: (v: unknown) => v is T): T {
  if (check(value)) return value;
  throw renameError(new InvalidOptionError(setting, expected, value), origins);
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';

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
  const pidFile = settings.pidFile === undefined ? null : resolvePath(cwd, cliOnly(settings.pidFile, 'pidFile', origins, 'a path', isNonEmptyString));
  const psName = settings.psName === undefined ? null : cliOnly(settings.psName, 'psName', origins, 'a non-empty string', isNonEmptyString);

  // The library reads `workers: 0` as one per CPU, as recluster did; `-w 0` on a command line is more likely a
  // slip, and one per CPU is what leaving it out gives, so the command refuses 0.
  if (settings.workers !== undefined) {
    cliOnly(
      settings.workers,
      'workers',
      origins,
      `an integer from 1 to ${MAX_WORKERS} (leave it out for one per CPU)`,
      (v): v is number => isWorkerCount(v) && v > 0,
    );
  }
  const given: Record<string, unknown> = {};
  for (const key of CONFIG_OPTIONS) if (settings[key] !== undefined) given[key] = settings[key];
  for (const [key, value] of COMMAND_DEFAULTS) given[key] ??= value;
  const watch = settings.watch;
  if (watch) {
    if (watch.paths === undefined) {
      const which = `watch.${WATCH_KEYS.find((key) => watch[key] !== undefined) ?? 'delay'}`;
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
    options = resolveClusterOptions(clusterOptions);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw renameError(error, origins);
    throw error;
  }
  return { app, options, clusterOptions, pidFile, logFormat, psName, admin: admin ? (admin as AdminOptions) : null, notes };
}
