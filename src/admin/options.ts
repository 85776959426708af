// The `admin` option: its public type, and the step of the options pipeline that validates it and refuses unsafe addresses.
import { InvalidOptionError } from '../errors.js';
import { warnUnknownKeys } from '../unknown-keys.js';
import { type AdminAddress, formatAdminAddress, isLocalOnly, parseAdminAddress } from './address.js';
import { AdminAuth } from './auth.js';

/** Options of the admin HTTP interface (the `admin` option of `recluster()`). */
export interface AdminOptions {
  /**
   * Where to listen: a port (on 127.0.0.1 only), `'host:port'`, `'[::1]:port'`, or `'unix:/path/to/socket'`
   * (created with mode 0600). Port 0 picks a free port; the `adminListening` event tells which. An address
   * other machines can reach needs credentials.
   */
  readonly listen: number | string;
  /** HTTP Basic user name; needs `password`. */
  readonly username?: string;
  /** HTTP Basic password; needs `username`. */
  readonly password?: string;
  /** Bearer token (`Authorization: Bearer <token>`); alone or beside Basic credentials. */
  readonly token?: string;
  /** Let `/healthz` and `/readyz` answer without credentials, for load balancers and probes. @default false */
  readonly publicHealth?: boolean;
  /**
   * How many slots need a ready worker for `/readyz` to answer 200: a number, or a share such as `'50%'`, so
   * that one slot respawning does not take the instance out of its load balancer. @default '100%' (every slot)
   */
  readonly readyThreshold?: number | string;
}

/** The admin options after the pipeline. Secrets are kept only inside `auth`, as digests. */
export interface ResolvedAdminOptions {
  readonly listen: AdminAddress;
  /** The credentials to check, or null when the interface is open (loopback or a Unix socket only). */
  readonly auth: AdminAuth | null;
  readonly publicHealth: boolean;
  /** Slots that need a ready worker: a count, or a share of the slots (0 to 1). */
  readonly readyThreshold: ReadyThreshold;
}

/** How many slots `/readyz` needs ready. */
export type ReadyThreshold = { readonly count: number } | { readonly share: number };

const KEYS = ['listen', 'username', 'password', 'token', 'publicHealth', 'readyThreshold'] as const satisfies readonly (keyof AdminOptions)[];

const PERCENT = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/;

/** Reads `readyThreshold`: a whole number of slots from 1, or a share from 1% to 100%. */
function readyThreshold(value: unknown, name: string): ReadyThreshold {
  if (value === undefined) return { share: 1 };
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return { count: value };
  const percent = typeof value === 'string' ? PERCENT.exec(value) : null;
  const share = percent ? Number(percent[1]) / 100 : Number.NaN;
  if (share > 0 && share <= 1) return { share };
  throw new InvalidOptionError(name, "a number of slots (1 or more), or a share such as '50%'", value);
}

const LISTEN_EXPECTED = "a port (0-65535), 'host:port', '[ipv6]:port' or 'unix:/path/to/socket'";

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what this is for.
const CONTROL = /[\u0000-\u001f\u007f]/;

function secret(value: unknown, name: string, expected: string, valid: (text: string) => boolean): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || !valid(value)) throw new InvalidOptionError(name, expected, value);
  return value;
}

/** Reads the `admin` option: `false` (the default) or an object. Throws an InvalidOptionError naming `admin.<key>`. */
export function resolveAdminOptions(value: unknown, name = 'admin'): ResolvedAdminOptions | null {
  if (value === false) return null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, 'an object such as { listen: 9000 }, or false', value);
  }
  const given = value as Record<string, unknown>;
  warnUnknownKeys(given, KEYS, `${name}.`);

  const listen = parseAdminAddress(given.listen);
  if (!listen) throw new InvalidOptionError(`${name}.listen`, LISTEN_EXPECTED, given.listen);

  const username = secret(
    given.username,
    `${name}.username`,
    "a non-empty string without ':' or control characters",
    (t) => !t.includes(':') && !CONTROL.test(t),
  );
  const password = secret(given.password, `${name}.password`, 'a non-empty string without control characters', (t) => !CONTROL.test(t));
  const token = secret(given.token, `${name}.token`, 'a non-empty string of visible ASCII characters (no spaces)', (t) => /^[\x21-\x7e]+$/.test(t));
  if (username !== undefined && password === undefined) {
    throw new InvalidOptionError(`${name}.password`, `a non-empty string when \`${name}.username\` is set`, given.password);
  }
  if (password !== undefined && username === undefined) {
    throw new InvalidOptionError(`${name}.username`, `a non-empty string when \`${name}.password\` is set`, given.username);
  }
  const publicHealth = given.publicHealth === undefined ? false : given.publicHealth;
  if (typeof publicHealth !== 'boolean') throw new InvalidOptionError(`${name}.publicHealth`, 'a boolean', publicHealth);

  const secured = password !== undefined || token !== undefined;
  if (!secured && !isLocalOnly(listen)) {
    throw new InvalidOptionError(
      `${name}.listen`,
      `a loopback address (127.0.0.1, ::1, localhost) or a Unix socket when no credentials are set; ` +
        `set \`${name}.username\` and \`${name}.password\`, or \`${name}.token\`, to listen on ${formatAdminAddress(listen)}`,
      given.listen,
    );
  }

  return Object.freeze({
    listen: Object.freeze(listen),
    auth: secured ? new AdminAuth({ username, password, token }) : null,
    publicHealth,
    readyThreshold: readyThreshold(given.readyThreshold, `${name}.readyThreshold`),
  });
}

/** The options pipeline's step for `admin`, registered by whoever assembles a cluster (src/assemble.ts). */
export const ADMIN_OPTION = { key: 'admin', read: (value: unknown, name: string) => resolveAdminOptions(value, name), fallback: null } as const;
