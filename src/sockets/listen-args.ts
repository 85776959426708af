// What a `server.listen(...)` call asks for, read the way Node reads it, for the listens the primary can serve with a socket it owns (a TCP port, with or without a host); and the key the primary files that socket under. Pure.
import { isIP } from 'node:net';

/** A TCP listen the primary can serve from a socket it owns. */
export interface TcpListen {
  readonly port: number;
  /** The host as given (an IP address or a name to look up), or null for every address. */
  readonly host: string | null;
  readonly backlog: number | undefined;
  readonly callback: (() => void) | undefined;
}

/** A port as Node takes it: an integer 0 to 65535, or a string of digits; anything else is Node's to refuse. */
function portOf(value: unknown): number | null {
  if (typeof value === 'string' && /^\d{1,5}$/.test(value)) return portOf(Number(value));
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65_535 ? value : null;
}

const numberOf = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined);

/** The options of `listen(options)` that need a socket of the worker's own, or that this reading does not cover: Node handles those itself. */
const OWN_SOCKET_OPTIONS = ['path', 'fd', 'handle', '_handle', 'exclusive', 'reusePort', 'ipv6Only', 'signal', 'readableAll', 'writableAll'];

/**
 * Reads the arguments of `server.listen()` as Node does (`listen(port[, host][, backlog][, cb])`,
 * `listen({ port, host, backlog }[, cb])`, `listen([cb])`), or null for every other form: a socket path, a
 * handle or descriptor, `exclusive`, `reusePort`, `ipv6Only`, an abort signal, or a value Node would refuse
 * (Node then does what it always does).
 */
export function readTcpListen(args: readonly unknown[]): TcpListen | null {
  const last = args.at(-1);
  const callback = typeof last === 'function' ? (last as () => void) : undefined;
  const given = callback ? args.slice(0, -1) : args;
  const [first] = given;
  if (first === undefined || first === null) {
    // `listen()`, `listen(cb)`: a port the system picks, on every address.
    return given.length <= 1 ? { port: 0, host: null, backlog: undefined, callback } : null;
  }
  if (typeof first === 'object') {
    if (given.length > 1) return null;
    const options = first as Record<string, unknown>;
    if (OWN_SOCKET_OPTIONS.some((key) => options[key] !== undefined && options[key] !== false)) return null;
    const port = options.port === undefined ? 0 : portOf(options.port);
    const host = options.host === undefined || options.host === null ? null : options.host;
    if (port === null || (host !== null && (typeof host !== 'string' || host === ''))) return null;
    if (options.backlog !== undefined && numberOf(options.backlog) === undefined) return null;
    return { port, host, backlog: numberOf(options.backlog), callback };
  }
  const port = portOf(first);
  if (port === null) return null;
  const [, second, third] = given;
  const host = typeof second === 'string' ? second : null;
  if (host === '' || given.length > 3) return null;
  const backlog = numberOf(second) ?? numberOf(third);
  return { port, host, backlog, callback };
}

/** An address to bind: the IP, or null for every address (IPv6 and IPv4, as Node binds `::` then falls back to `0.0.0.0`). */
/** Node's default backlog for a listen: what the primary and the workers listen on its sockets' copies with. */
export const BACKLOG = 511;

export interface BindAddress {
  readonly address: string | null;
  readonly port: number;
}

/** The key the primary files a socket under: `tcp:*:8000` for every address, `tcp:127.0.0.1:8000`, `tcp:[::1]:8000`. */
export function socketKey({ address, port }: BindAddress): string {
  if (address === null) return `tcp:*:${port}`;
  return isIP(address) === 6 ? `tcp:[${address}]:${port}` : `tcp:${address}:${port}`;
}

/**
 * Whether a socket bound to `bound` (one the primary was given: systemd's) serves a listen on `asked`: the same
 * port, and the same address, or any address when the app listens on every address (the unit file says where).
 */
export function serves(bound: BindAddress, asked: BindAddress): boolean {
  if (bound.port !== asked.port || asked.port === 0) return false;
  return asked.address === null || bound.address === asked.address;
}
