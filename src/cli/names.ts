// How the user wrote each setting (a flag, a config key, an environment variable), to name it in errors the same way.
import { ADMIN_ENV } from './admin-config.js';
import type { InvalidOptionError } from '../errors.js';
import type { AdminSettings, Origin } from './settings-types.js';
import { CliError } from './errors.js';

export type { Origin } from './settings-types.js';

/** The flag of each admin key. */
export const ADMIN_FLAG_OF: Readonly<Record<keyof AdminSettings, string>> = {
  listen: '--admin',
  username: '--admin-user',
  password: '--admin-password',
  token: '--admin-token',
  publicHealth: '--admin-public-health',
  readyThreshold: '--admin-ready-threshold',
};

/** The qilin-daemon.json key of each admin key it has. */
export const DAEMON_KEY_OF: Readonly<Partial<Record<keyof AdminSettings, string>>> = {
  listen: 'daemon_port',
  username: 'auth_username',
  password: 'auth_password',
};

/** The setting an option name belongs to: `watch.delay` for `watch.delay`, `admin.listen` for `admin.listen`, `env` for `env.PORT`, `args` for `args[0]`. */
function settingOf(option: string): string {
  if (option.startsWith('watch.') || option.startsWith('admin.')) return option.replace(/^((?:watch|admin)\.[a-z]+).*$/i, '$1');
  return option.split(/[.[]/)[0] ?? option;
}

function isAdminKey(key: string): key is keyof AdminSettings {
  return Object.hasOwn(ADMIN_FLAG_OF, key);
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
export function originOf(option: string, origins: ReadonlyMap<string, Origin>): Origin | undefined {
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
  let message =
    after.length === 0
      ? mentions(error.message)
      : `${mentions(before ?? '')}${displayName(error.option, origins)}${mentions(after.join(`\`${error.option}\``))}`;
  if (SECRET_OPTIONS.has(error.option) && !message.endsWith('got `undefined`'))
    message = message.replace(/, got [\s\S]*$/, ', got a value not shown here (a secret)');
  return new CliError(origin?.kind === 'file' ? 'ERR_QILIN_CONFIG' : 'ERR_QILIN_USAGE', message, { cause: error });
}
