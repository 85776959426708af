// Admin settings from outside the library: command-line flags, the QILIN_ADMIN_* environment variables, and qilin-daemon.json's keys.
import { InvalidOptionError } from '../errors.js';
import type { Secrets } from '../admin/auth.js';
import type { AdminOptions } from '../admin/options.js';

/**
 * Environment variables that carry the secrets, so they stay out of argv (where `ps` shows them to every
 * user). The library itself never reads them: the `qilin` command does, through the functions below.
 */
export const ADMIN_ENV = { password: 'QILIN_ADMIN_PASSWORD', token: 'QILIN_ADMIN_TOKEN' } as const;

/** `util.parseArgs` options of the admin flags, the same for the server (`qilin --admin ...`) and the client (`qilin status --admin ...`). */
export const ADMIN_FLAGS = {
  admin: { type: 'string' },
  'admin-user': { type: 'string' },
  'admin-password': { type: 'string' },
  'admin-token': { type: 'string' },
} as const;

/** The server's admin flags: the shared ones, and `--admin-public-health` (health endpoints without credentials). */
export const ADMIN_SERVER_FLAGS = {
  ...ADMIN_FLAGS,
  'admin-public-health': { type: 'boolean' },
  'admin-ready-threshold': { type: 'string' },
} as const;

/** The admin flags' values, as `util.parseArgs` returns them. */
export interface AdminFlags {
  readonly admin?: string | undefined;
  readonly 'admin-user'?: string | undefined;
  readonly 'admin-password'?: string | undefined;
  readonly 'admin-token'?: string | undefined;
  readonly 'admin-public-health'?: boolean | undefined;
  readonly 'admin-ready-threshold'?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** The credentials given by flags, each completed from its environment variable when the flag is absent. */
export function credentialsFrom(flags: AdminFlags, env: Env): Secrets {
  return {
    username: nonEmpty(flags['admin-user']),
    password: nonEmpty(flags['admin-password']) ?? nonEmpty(env[ADMIN_ENV.password]),
    token: nonEmpty(flags['admin-token']) ?? nonEmpty(env[ADMIN_ENV.token]),
  };
}

function withSecrets(listen: number | string, secrets: Secrets, extra: Partial<AdminOptions> = {}): AdminOptions {
  return {
    listen,
    ...(secrets.username === undefined ? {} : { username: secrets.username }),
    ...(secrets.password === undefined ? {} : { password: secrets.password }),
    ...(secrets.token === undefined ? {} : { token: secrets.token }),
    ...extra,
  };
}

/**
 * The `admin` option from the command line: `--admin <port | host:port | unix:/path>` with `--admin-user`,
 * `--admin-password` and `--admin-token` (or QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN), and
 * `--admin-public-health`. False without `--admin`. Validation is left to the options pipeline, which names
 * the wrong `admin.<key>`.
 */
export function adminFromFlags(flags: AdminFlags, env: Env): AdminOptions | false {
  if (flags.admin === undefined) return false;
  return withSecrets(flags.admin, credentialsFrom(flags, env), flags['admin-public-health'] ? { publicHealth: true } : {});
}

/** What a qilin-daemon.json says about its control port. Other keys are the config loader's business. */
export interface DaemonConfigAdmin {
  readonly daemon_port?: unknown;
  readonly auth_username?: unknown;
  readonly auth_password?: unknown;
}

/** The `admin` option read from a qilin-daemon.json, and notes the command should print about how it was read. */
export interface DaemonAdmin {
  readonly admin: AdminOptions | false;
  readonly notes: readonly string[];
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidOptionError(key, 'a string', value);
  return nonEmpty(value);
}

/**
 * Maps qilin-daemon.json's `daemon_port`, `auth_username` and `auth_password` onto the `admin` option.
 *
 * qilin-daemon listened on every interface, with or without credentials. Here the port is opened on every
 * interface (0.0.0.0) only when credentials are set, in the file or in QILIN_ADMIN_PASSWORD /
 * QILIN_ADMIN_TOKEN; without them it is opened on 127.0.0.1 only, and a note says so. Errors name the key.
 */
export function adminFromDaemonConfig(config: DaemonConfigAdmin, env: Env): DaemonAdmin {
  const { daemon_port: port } = config;
  if (port === undefined || port === null) return { admin: false, notes: [] };
  const number = typeof port === 'string' && /^\d{1,5}$/.test(port) ? Number(port) : port;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 65_535) {
    throw new InvalidOptionError('daemon_port', 'a port number (0-65535)', port);
  }
  const fileUser = optionalString(config.auth_username, 'auth_username');
  const filePassword = optionalString(config.auth_password, 'auth_password');
  const given = credentialsFrom({ 'admin-user': fileUser, 'admin-password': filePassword }, env);
  // As on the command line: a password from the environment, with no user name, is left out when there is a token.
  const envPasswordOnly = fileUser === undefined && filePassword === undefined;
  const secrets = envPasswordOnly && given.token !== undefined ? { ...given, password: undefined } : given;
  if (secrets.username !== undefined && secrets.password === undefined) {
    throw new InvalidOptionError('auth_password', `a non-empty string when \`auth_username\` is set (or ${ADMIN_ENV.password})`, config.auth_password);
  }
  if (secrets.password !== undefined && secrets.username === undefined) {
    throw new InvalidOptionError(
      'auth_username',
      `a non-empty string when a password is set (in \`auth_password\` or ${ADMIN_ENV.password})`,
      config.auth_username,
    );
  }
  if (secrets.password !== undefined || secrets.token !== undefined) {
    return { admin: withSecrets(`0.0.0.0:${number}`, secrets), notes: [] };
  }
  return {
    admin: withSecrets(number, secrets),
    notes: [
      `daemon_port ${number} is opened on 127.0.0.1 only: qilin-daemon listened on every interface, but without ` +
        `auth_username and auth_password (or ${ADMIN_ENV.password} / ${ADMIN_ENV.token}) anyone who can reach it could stop the service`,
    ],
  };
}
