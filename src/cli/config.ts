// Config files: finding and loading qilin.config.json (or .js/.mjs) and qilin-daemon.json, and reading either into settings.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue } from '../errors.js';
import { closestName } from '../suggest.js';
import { MAX_TIMER } from '../units.js';
import { CliError } from './errors.js';
import { CONFIG_OPTIONS } from '../option-table.js';
import { ADMIN_KEYS, type AdminSettings, type Origin, type Settings, type SourcedSettings, WATCH_KEYS, type WatchSettings } from './settings-types.js';

/** Config files looked for in the working directory when no `--config` is given. */
export const DEFAULT_CONFIG_FILES = ['qilin.config.json', 'qilin-daemon.json'] as const;

/** Keys of qilin.config.json: the library's option names, plus the command's own. */
export const CONFIG_KEYS: readonly string[] = [...CONFIG_OPTIONS, 'app', 'watch', 'pidFile', 'logFormat', 'admin'];

/** Keys of a qilin-daemon.json, as qilin-daemon documented them. */
export const DAEMON_KEYS: readonly string[] = [
  'exec',
  'args',
  'workers',
  'silent',
  'watch',
  'reload_delay',
  'worker_disconnect_timeout',
  'daemon_port',
  'auth_username',
  'auth_password',
  'pid_file',
  'ps_name',
];

/** Keys only a qilin-daemon.json has: one of them marks a file as one, whatever its name. */
const DAEMON_ONLY_KEYS = DAEMON_KEYS.filter((key) => !['args', 'workers', 'silent', 'watch'].includes(key));

/**
 * qilin-daemon's documented defaults, used for a qilin-daemon.json's missing keys so that it behaves as it
 * did there: one worker, 5 s for a retiring worker, a 5 s quiet period, and `exec` always watched.
 */
export const DAEMON_DEFAULTS = { workers: 1, reload_delay: 5000, worker_disconnect_timeout: 5000 } as const;

/** Which format a config object is in: a qilin-daemon.json by its name or by a key only that format has. */
export function configFormat(file: string, raw: Record<string, unknown>): 'qilin' | 'qilin-daemon' {
  if (path.basename(file) === 'qilin-daemon.json') return 'qilin-daemon';
  return Object.keys(raw).some((key) => DAEMON_ONLY_KEYS.includes(key)) ? 'qilin-daemon' : 'qilin';
}

function configError(file: string, message: string): CliError {
  return new CliError('ERR_QILIN_CONFIG', `${file}: ${message}`);
}

/**
 * An unknown key stays an error here, unlike in the library's options: the command stops on a typo in its
 * own config file before anything forks, rather than run with a setting silently left out.
 */
function unknownKey(file: string, key: string, known: readonly string[], format: string): CliError {
  const dot = key.lastIndexOf('.');
  const suggestion = closestName(key.slice(dot + 1), known);
  const hint = suggestion === undefined ? ': expected' : `; did you mean \`${key.slice(0, dot + 1)}${suggestion}\`? Expected`;
  return configError(file, `unknown key \`${key}\` (${format} format)${hint} one of ${known.join(', ')}`);
}

function strings(file: string, key: string, value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw configError(file, `expected \`${key}\` to be a path or an array of paths, got ${describeValue(value)}`);
}

/**
 * A qilin-daemon millisecond count, as a duration string the library reads (`5000` -> `'5000ms'`); a string
 * with a unit passes as is. The range is checked here, so that the error shows the number as written
 * (`1e+30`, not the `'1e+30ms'` the library would be given) and in qilin-daemon's unit.
 */
function milliseconds(file: string, key: string, value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIMER) return `${Math.round(value)}ms`;
  if (typeof value === 'string' && /[a-z]/i.test(value)) return value;
  const range = typeof value === 'number' && value > MAX_TIMER ? ` of at most ${MAX_TIMER} (about 24.8 days, the longest timer Node.js supports)` : '';
  throw configError(file, `expected \`${key}\` to be milliseconds as a number (qilin-daemon's unit)${range}, got ${describeValue(value)}`);
}

/**
 * Reads qilin.config.json's `admin`: `false`, or the library's `{ listen, username, password, token,
 * publicHealth, readyThreshold }`. A relative `unix:` socket path is relative to the file's folder, like every path there.
 */
function readAdminKey(file: string, value: unknown, origins: Map<string, Origin>): AdminSettings | false {
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(
      file,
      `expected \`admin\` to be { listen, username, password, token, publicHealth, readyThreshold } or false, got ${describeValue(value)}`,
    );
  }
  const admin: AdminSettings = {};
  for (const [key, part] of Object.entries(value as Record<string, unknown>)) {
    if (!(ADMIN_KEYS as readonly string[]).includes(key)) throw unknownKey(file, `admin.${key}`, ADMIN_KEYS, 'qilin.config');
    if (part === undefined) continue;
    const relativeSocket = key === 'listen' && typeof part === 'string' && part.startsWith('unix:') && !path.isAbsolute(part.slice('unix:'.length));
    admin[key as keyof AdminSettings] = relativeSocket ? `unix:${path.resolve(path.dirname(file), (part as string).slice('unix:'.length))}` : part;
    origins.set(`admin.${key}`, { kind: 'file', file, key: `admin.${key}` });
  }
  return admin;
}

/**
 * Reads a qilin.config.json object. Keys are the library's option names plus `app`, `pidFile`,
 * `logFormat` and `admin`; paths (`app`, `cwd`, `pidFile`, `watch`, a `unix:` admin socket) are relative to
 * the file's folder.
 */
export function readQilinConfig(file: string, raw: Record<string, unknown>): SourcedSettings {
  const dir = path.dirname(file);
  const settings: Settings = {};
  const origins = new Map<string, Origin>();
  const from = (key: string): Origin => ({ kind: 'file', file, key });
  for (const [key, value] of Object.entries(raw)) {
    if (!CONFIG_KEYS.includes(key)) throw unknownKey(file, key, CONFIG_KEYS, 'qilin.config');
    if (value === undefined) continue;
    if (key === 'watch') {
      if (value === false) {
        settings.watch = false;
      } else if (typeof value === 'string' || Array.isArray(value)) {
        settings.watch = { paths: strings(file, 'watch', value).map((p) => path.resolve(dir, p)) };
        origins.set('watch.paths', from('watch'));
      } else if (typeof value === 'object' && value !== null) {
        const watch: WatchSettings = {};
        for (const [part, partValue] of Object.entries(value as Record<string, unknown>)) {
          if (!(WATCH_KEYS as readonly string[]).includes(part)) throw unknownKey(file, `watch.${part}`, WATCH_KEYS, 'qilin.config');
          watch[part as (typeof WATCH_KEYS)[number]] = part === 'paths' ? strings(file, 'watch.paths', partValue).map((p) => path.resolve(dir, p)) : partValue;
          origins.set(`watch.${part}`, from(`watch.${part}`));
        }
        settings.watch = watch;
      } else {
        throw configError(file, `expected \`watch\` to be a path, paths, { paths, delay, ignore, extensions } or false, got ${describeValue(value)}`);
      }
      origins.set('watch', from('watch'));
      continue;
    }
    if (key === 'admin') {
      settings.admin = readAdminKey(file, value, origins);
      continue;
    }
    const isPath = key === 'app' || key === 'cwd' || key === 'pidFile';
    (settings as Record<string, unknown>)[key] = isPath && typeof value === 'string' && value !== '' ? path.resolve(dir, value) : value;
    origins.set(key, from(key));
  }
  return { settings, origins };
}

/**
 * Reads a qilin-daemon.json object with qilin-daemon's meaning: `exec` is the app (required), `watch`
 * lists paths and `exec` is always watched, `reload_delay` is the quiet period and
 * `worker_disconnect_timeout` the time a retiring worker gets, both in milliseconds; missing keys take
 * qilin-daemon's defaults. Paths are relative to the file's folder, as qilin-daemon ran from there.
 * `daemon_port`, `auth_username` and `auth_password` are kept as written: they become the admin interface
 * when the plan is made, with the environment's QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN.
 */
export function readDaemonConfig(file: string, raw: Record<string, unknown>): SourcedSettings {
  for (const key of Object.keys(raw)) if (!DAEMON_KEYS.includes(key)) throw unknownKey(file, key, DAEMON_KEYS, 'qilin-daemon.json');
  const dir = path.dirname(file);
  const settings: Settings = {};
  const origins = new Map<string, Origin>();
  const from = (key: string): Origin => ({ kind: 'file', file, key });
  if (typeof raw.exec !== 'string' || raw.exec === '') {
    throw configError(file, `\`exec\` (the app to run) is required in a qilin-daemon.json, got ${describeValue(raw.exec)}`);
  }
  const app = path.resolve(dir, raw.exec);
  settings.app = app;
  origins.set('app', from('exec'));
  if (raw.args !== undefined) {
    settings.args = raw.args;
    origins.set('args', from('args'));
  }
  settings.workers = raw.workers ?? DAEMON_DEFAULTS.workers;
  origins.set('workers', from('workers'));
  if (raw.silent !== undefined) {
    settings.silent = raw.silent;
    origins.set('silent', from('silent'));
  }
  settings.timeout = milliseconds(file, 'worker_disconnect_timeout', raw.worker_disconnect_timeout ?? DAEMON_DEFAULTS.worker_disconnect_timeout);
  origins.set('timeout', from('worker_disconnect_timeout'));
  const watched = raw.watch === undefined ? [] : strings(file, 'watch', raw.watch).map((p) => path.resolve(dir, p));
  settings.watch = {
    paths: [...new Set([...watched, app])],
    delay: milliseconds(file, 'reload_delay', raw.reload_delay ?? DAEMON_DEFAULTS.reload_delay),
  };
  origins.set('watch.paths', from('watch'));
  origins.set('watch.delay', from('reload_delay'));
  if (raw.pid_file !== undefined) {
    settings.pidFile = typeof raw.pid_file === 'string' && raw.pid_file !== '' ? path.resolve(dir, raw.pid_file) : raw.pid_file;
    origins.set('pidFile', from('pid_file'));
  }
  if (raw.ps_name !== undefined) {
    settings.psName = raw.ps_name;
    origins.set('psName', from('ps_name'));
  }
  const adminKeys = ['daemon_port', 'auth_username', 'auth_password'] as const;
  if (adminKeys.some((key) => raw[key] !== undefined)) {
    const admin: Record<string, unknown> = {};
    for (const key of adminKeys) {
      if (raw[key] !== undefined) admin[key] = raw[key];
      // Also a key left out, so that an error saying it is missing names this file.
      origins.set(key, from(key));
    }
    settings.daemonAdmin = admin;
  }
  return { settings, origins };
}

/** Reads a config object in whichever format it is in. */
export function readConfig(file: string, raw: unknown): SourcedSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(file, `expected an object of settings, got ${describeValue(raw)}`);
  }
  const record = raw as Record<string, unknown>;
  return configFormat(file, record) === 'qilin-daemon' ? readDaemonConfig(file, record) : readQilinConfig(file, record);
}

/** The config file to use: `--config`'s, else qilin.config.json or qilin-daemon.json in `cwd`, else none. */
export function findConfigFile(cwd: string, given: string | undefined): string | null {
  if (given !== undefined) {
    const file = path.resolve(cwd, given);
    if (!existsSync(file)) throw new CliError('ERR_QILIN_CONFIG', `Config file not found: ${file}`);
    return file;
  }
  const found = DEFAULT_CONFIG_FILES.map((name) => path.join(cwd, name)).filter((file) => existsSync(file));
  if (found.length > 1) {
    throw new CliError('ERR_QILIN_CONFIG', `Both ${found.join(' and ')} exist: choose one with \`--config <file>\``);
  }
  return found[0] ?? null;
}

/** How many times config modules were loaded again, so each load gets a module URL of its own. */
let reloads = 0;

/**
 * Loads a config file: JSON, or a .js/.mjs/.cjs module whose default export is the settings object (or a
 * function returning it). `again`: read what is on disk now, not a module loaded before (a reload's re-read).
 */
export async function loadConfigFile(file: string, again = false): Promise<SourcedSettings> {
  const ext = path.extname(file);
  let raw: unknown;
  try {
    if (ext === '.json') {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } else if (ext === '.js' || ext === '.mjs' || ext === '.cjs') {
      const url = pathToFileURL(file);
      if (again) {
        // A CommonJS module is cached by file name, an ES module by URL: forget the first, give the second a new URL.
        delete createRequire(url).cache[file];
        url.search = `qilin-reload=${++reloads}`;
      }
      const mod = (await import(url.href)) as { default?: unknown };
      raw = mod.default ?? mod;
      if (typeof raw === 'function') raw = await (raw as () => unknown)();
    } else {
      throw configError(file, `expected a .json, .js or .mjs file, got \`${ext || 'no extension'}\``);
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw configError(file, `cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  return readConfig(file, raw);
}
