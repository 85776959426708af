// Admin addresses: reading `9000`, `'host:port'`, `'[::1]:port'` and `'unix:/path'`, writing them back, and telling loopback from the rest.
import { isIP } from 'node:net';
import path from 'node:path';

/** Where the admin interface listens, or where a client finds it. */
export type AdminAddress = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** The host a bare port binds to: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Longest Unix socket path the kernel accepts, in bytes (sun_path less its terminating NUL). */
export const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

const PORT = /^(0|[1-9]\d{0,4})$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function port(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const value = Number(text);
  return value <= 65_535 ? value : undefined;
}

/**
 * Reads an address: a port number or a string of digits (on 127.0.0.1), `'host:port'`, `'[ipv6]:port'`, or
 * `'unix:/path/to/socket'` (a relative path is made absolute against `cwd`). Returns undefined when the value
 * is none of these; the caller words the error.
 */
export function parseAdminAddress(value: unknown, cwd = process.cwd()): AdminAddress | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value <= 65_535 ? { kind: 'tcp', host: DEFAULT_HOST, port: value } : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (value.startsWith('unix:')) {
    const file = value.slice('unix:'.length);
    if (file === '' || file.includes('\0')) return undefined;
    const absolute = path.resolve(cwd, file);
    return Buffer.byteLength(absolute) <= MAX_SOCKET_PATH ? { kind: 'unix', path: absolute } : undefined;
  }
  const bare = port(value);
  if (bare !== undefined) return { kind: 'tcp', host: DEFAULT_HOST, port: bare };
  const bracketed = /^\[([0-9a-f:.]+)\]:(\d+)$/i.exec(value);
  if (bracketed) {
    const [, host = '', text = ''] = bracketed;
    const parsed = port(text);
    return isIP(host) === 6 && parsed !== undefined ? { kind: 'tcp', host, port: parsed } : undefined;
  }
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = value.slice(0, colon);
  const parsed = port(value.slice(colon + 1));
  if (parsed === undefined) return undefined;
  if (isIP(host) === 4 || (isIP(host) === 0 && HOSTNAME.test(host))) return { kind: 'tcp', host, port: parsed };
  return undefined;
}

/** Writes an address the way `parseAdminAddress` reads it: `127.0.0.1:9000`, `[::1]:9000`, `unix:/run/qilin.sock`. */
export function formatAdminAddress(address: AdminAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * Where a client on this machine connects to reach a server listening on `address`: a wildcard host
 * (`0.0.0.0`, `::`, as a qilin-daemon.json's `daemon_port` with credentials listens) is reached on loopback.
 */
export function clientAddress(address: AdminAddress): AdminAddress {
  if (address.kind !== 'tcp') return address;
  if (address.host === '0.0.0.0') return { ...address, host: '127.0.0.1' };
  if (isIP(address.host) === 6 && /^[0:]+$/.test(address.host)) return { ...address, host: '::1' };
  return address;
}

/** True for hosts only this machine can reach: `localhost`, 127.0.0.0/8, `::1` and 127.x written as IPv4-mapped IPv6. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost' || lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** True for addresses other machines cannot reach: a loopback host, or a Unix socket. */
export function isLocalOnly(address: AdminAddress): boolean {
  return address.kind === 'unix' || isLoopbackHost(address.host);
}
