// The admin interface under the command: flags, qilin.config.json's `admin`, a qilin-daemon.json's keys and the environment, into the library's `admin` option.
import { ADMIN_ENV, type DaemonConfigAdmin, adminFromDaemonConfig } from './admin-config.js';
import { InvalidOptionError } from '../errors.js';
import { CliError } from './errors.js';
import { DAEMON_KEY_OF, displayName, renameError } from './names.js';
import { ADMIN_KEYS, type AdminSettings, type Origin, type Settings } from './settings-types.js';

type Env = Readonly<Record<string, string | undefined>>;

const nonEmptyValue = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The `admin` option from the merged settings: a qilin-daemon.json's keys (through `adminFromDaemonConfig`),
 * then qilin.config.json's `admin` and the `--admin` flags over them key by key, then QILIN_ADMIN_PASSWORD and
 * QILIN_ADMIN_TOKEN for a secret neither set. Records where each key came from in `origins`.
 */
export function adminFrom(settings: Settings, origins: Map<string, Origin>, env: Env): { admin: AdminSettings | null; notes: string[] } {
  const notes: string[] = [];
  let admin: AdminSettings = {};
  const daemon = settings.daemonAdmin;
  if (daemon) {
    let mapped: ReturnType<typeof adminFromDaemonConfig>;
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
  for (const [key, value] of Object.entries(settings.admin ?? {})) if (value !== undefined) admin[key as keyof AdminSettings] = value;
  if (admin.listen === undefined) {
    const given = ADMIN_KEYS.find((key) => admin[key] !== undefined);
    if (given === undefined) return { admin: null, notes };
    const origin = origins.get(`admin.${given}`);
    throw new CliError(
      origin?.kind === 'file' ? 'ERR_QILIN_CONFIG' : 'ERR_QILIN_USAGE',
      `${displayName(`admin.${given}`, origins)} needs an address to listen on: add \`--admin <port | host:port | unix:/path>\`, or \`admin.listen\` in qilin.config.json`,
    );
  }
  // The secrets from the environment, as for `qilin status`: a password without a user name is left out when a
  // token is there, wherever the token comes from (so the token is read first).
  const token = nonEmpty(env[ADMIN_ENV.token]);
  if (admin.token === undefined && token !== undefined) {
    admin.token = token;
    origins.set('admin.token', { kind: 'env', variable: ADMIN_ENV.token });
  }
  const password = nonEmpty(env[ADMIN_ENV.password]);
  if (admin.password === undefined && password !== undefined && (admin.username !== undefined || admin.token === undefined)) {
    admin.password = password;
    origins.set('admin.password', { kind: 'env', variable: ADMIN_ENV.password });
  }
  return { admin, notes };
}
