// The shapes of the command's settings, shared by the flag parser, the config file readers and the plan: what was given, by name, and where each came from.
import type { AdminOptions } from '../admin/options.js';
import type { ConfigOption } from '../option-table.js';
import type { DaemonConfigAdmin } from './admin-config.js';

/** Where a setting came from, to name it in an error the way the user wrote it. */
export type Origin =
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'file'; readonly file: string; readonly key: string }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'default'; readonly what: string };

/** Watch settings as given: each part may come from a different place (paths from a file, delay from a flag). */
export interface WatchSettings {
  paths?: unknown;
  delay?: unknown;
  ignore?: unknown;
  extensions?: unknown;
}

/** The keys of a config file's `watch` object, as the library's `watch` option has them. */
export const WATCH_KEYS = ['paths', 'delay', 'ignore', 'extensions'] as const satisfies readonly (keyof WatchSettings)[];

/** The admin interface's settings as given (`--admin ...` flags, qilin.config.json's `admin`): the library's `admin` keys. */
export interface AdminSettings {
  listen?: unknown;
  username?: unknown;
  password?: unknown;
  token?: unknown;
  publicHealth?: unknown;
  readyThreshold?: unknown;
}

/** The keys of `admin`, as in the library's option. */
export const ADMIN_KEYS = ['listen', 'username', 'password', 'token', 'publicHealth', 'readyThreshold'] as const satisfies readonly (keyof AdminSettings &
  keyof AdminOptions)[];

/**
 * Everything the command can be told: the library's options a config file or flag sets (the option table's
 * `config` ones), by their names, plus the command's own (`app`, `pidFile`, `logFormat`, `psName`, `admin`).
 * Values are as given (flags already turned into numbers where they look like one); the library's pipeline
 * validates them.
 */
export type Settings = { [K in ConfigOption]?: unknown } & {
  app?: unknown;
  /** `false` turns watching off even where a config file turns it on. */
  watch?: WatchSettings | false;
  pidFile?: unknown;
  logFormat?: unknown;
  psName?: unknown;
  /** `false` turns the admin interface off. */
  admin?: AdminSettings | false;
  /** A qilin-daemon.json's `daemon_port`, `auth_username` and `auth_password`, read with the environment when the plan is made. */
  daemonAdmin?: DaemonConfigAdmin;
};

/** Settings plus where each came from, by setting name (`workers`, `watch.delay`, `env`). */
export interface SourcedSettings {
  readonly settings: Settings;
  readonly origins: ReadonlyMap<string, Origin>;
}
