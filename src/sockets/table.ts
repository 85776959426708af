// The listening sockets the primary owns, one per address in the whole process: bound by the primary on a worker's first listen, or given to it (systemd's socket activation), and kept while a cluster that uses them runs, so no gap without workers ever closes one.
import net from 'node:net';
import os from 'node:os';
import { getSystemErrorName } from 'node:util';
import { type BindAddress, serves, socketKey } from './listen-args.js';

/** The raw TCP handle node:cluster and net use (`tcp_wrap`): bound, listened on only by the workers it is sent to. */
export interface ServerHandle {
  readonly fd: number;
  getsockname(out: Record<string, unknown>): number;
  close(): void;
}

/** Why a socket could not be had, as Node reports a failed bind. */
export interface BindFailure {
  readonly code: string;
  readonly errno: number;
  readonly syscall: 'bind';
  readonly address: string | null;
  readonly port: number;
}

interface Entry {
  readonly key: string;
  readonly bound: BindAddress;
  readonly handle: ServerHandle;
  /** The clusters that use it; it is closed when the last one stops. */
  readonly owners: Set<object>;
  /** Given to this process (socket activation): never closed by it, and serving a listen on its port. */
  readonly given: boolean;
}

type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number, flags?: number) => ServerHandle | number;

/** libuv's bind flag for SO_REUSEPORT (`UV_TCP_REUSEPORT`), which `listen({ reusePort: true })` passes too. */
const UV_TCP_REUSEPORT = 2;

/** node:cluster's own way to make a server socket: bound, not listening, with its descriptor in `fd`. */
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

function addressOf(handle: ServerHandle): BindAddress | null {
  const out: Record<string, unknown> = {};
  if (handle.getsockname(out) !== 0 || typeof out.port !== 'number') return null;
  return { address: typeof out.address === 'string' ? out.address : null, port: out.port };
}

/** Whether a plain socket (no SO_REUSEPORT) can bind `address`:`port` now: nothing else is bound there. */
function bindsAlone(address: string | null, port: number, addressType: number): boolean {
  const probe = createServerHandle(address, port, addressType);
  if (typeof probe === 'number') return false;
  const bound = addressOf(probe) !== null;
  probe.close();
  return bound;
}

export class SocketTable {
  readonly #entries = new Map<string, Entry>();

  /**
   * The socket for a worker's `index`th listen on `asked` (node:cluster's numbering: the same listen in every
   * worker shares one socket), for `owner`: the one bound before, a given one that serves it, or a new one.
   * With `slot` (balance 'reuseport'), each slot has a socket of its own, bound with SO_REUSEPORT to the port
   * the first slot's got; `slotted` says which kind came back (a given socket is shared all the same).
   */
  acquire(
    owner: object,
    asked: BindAddress,
    index = 0,
    slot: number | null = null,
  ): { handle: ServerHandle; key: string; slotted: boolean } | { error: BindFailure } {
    const base = index === 0 ? socketKey(asked) : `${socketKey(asked)}#${index}`;
    let key = base;
    let entry: Entry | undefined;
    if (index === 0) {
      // A given socket on every address comes before one on a single address.
      const given = [...this.#entries.values()].filter((candidate) => candidate.given && serves(candidate.bound, asked));
      entry = given.find((candidate) => candidate.bound.address === '::' || candidate.bound.address === '0.0.0.0') ?? given[0];
    }
    if (!entry && slot !== null) key = `${base}@${slot}`;
    entry ??= this.#entries.get(key);
    if (!entry) {
      // A slot's socket joins its siblings' port (the one the first got, when port 0 was asked for).
      const sibling = slot === null ? undefined : [...this.#entries.values()].find((other) => other.key.startsWith(`${base}@`));
      const at = sibling ? { address: asked.address, port: sibling.bound.port } : asked;
      const addressType = at.address !== null && net.isIP(at.address) === 6 ? 6 : 4;
      const failed = (errno: number) => ({
        error: { code: getSystemErrorName(errno), errno, syscall: 'bind' as const, address: asked.address, port: asked.port },
      });
      // The first socket of a group binds plainly first: a port some other socket holds (another process's
      // reusePort sockets, this worker's own earlier listen) fails as it would without SO_REUSEPORT, instead
      // of quietly sharing its connections.
      if (slot !== null && !sibling && at.port !== 0 && !bindsAlone(at.address, at.port, addressType)) return failed(os.constants.errno.EADDRINUSE * -1);
      const created = createServerHandle(at.address, at.port, addressType, undefined, slot === null ? 0 : UV_TCP_REUSEPORT);
      if (typeof created === 'number') return failed(created);
      // libuv keeps an EADDRINUSE from bind() for the listen() that follows, and leaves the socket unbound: a
      // worker that listened on it would get a port of the system's choosing. Unbound means the address is taken.
      const bound = addressOf(created);
      if (bound === null || (sibling && bound.port !== sibling.bound.port)) {
        created.close();
        return failed(os.constants.errno.EADDRINUSE * -1);
      }
      entry = { key, bound, handle: created, owners: new Set(), given: false };
      this.#entries.set(key, entry);
    }
    entry.owners.add(owner);
    return { handle: entry.handle, key: entry.key, slotted: slot !== null && !entry.given };
  }

  /** `owner` has stopped: the sockets only it used are closed (a given one stays open). */
  release(owner: object): void {
    for (const [key, entry] of this.#entries) {
      if (!entry.owners.delete(owner) || entry.owners.size > 0 || entry.given) continue;
      this.#entries.delete(key);
      entry.handle.close();
    }
  }

  /** The socket filed under `key`, or null. */
  handleOf(key: string): ServerHandle | null {
    return this.#entries.get(key)?.handle ?? null;
  }

  /**
   * Slot sockets (balance 'reuseport') no cluster has claimed: ones an old primary handed over for slots the
   * workers here have not asked for (the old cluster had more), which a cluster serving their port takes on.
   */
  unclaimed(): { key: string; port: number; handle: ServerHandle }[] {
    return [...this.#entries.values()]
      .filter((entry) => !entry.given && entry.owners.size === 0 && /@\d+$/.test(entry.key))
      .map((entry) => ({ key: entry.key, port: entry.bound.port, handle: entry.handle }));
  }

  /** `owner` uses the socket `key` from now on (closed when the last owner stops). */
  claim(owner: object, key: string): void {
    this.#entries.get(key)?.owners.add(owner);
  }

  /** Takes a listening socket this process was given at descriptor `fd`; null (and nothing kept) if it is not a TCP socket. */
  adopt(fd: number): BindAddress | null {
    return this.#take(fd, `given:${fd}`, true);
  }

  /**
   * Takes a socket an old primary handed over at descriptor `fd` (an upgrade), under the key it had there: the
   * workers' listens find it as they found the old one, and it is closed when the last cluster using it stops
   * (one systemd gave the old primary stays given).
   */
  inherit(fd: number, key: string): boolean {
    return this.#take(fd, key, key.startsWith('given:')) !== null;
  }

  /** Files the TCP socket at descriptor `fd` under `key`; its address, or null if it is not a bound TCP socket. */
  #take(fd: number, key: string, given: boolean): BindAddress | null {
    let handle: ServerHandle | number;
    try {
      handle = createServerHandle(null, 0, 4, fd);
    } catch {
      return null;
    }
    if (typeof handle === 'number') return null;
    const bound = addressOf(handle);
    if (!bound) return null;
    this.#entries.set(key, { key, bound, handle, owners: new Set(), given });
    return bound;
  }

  /** Every socket held now, for reports and for an upgrade to hand over (by descriptor, with its key). */
  list(): { key: string; fd: number; address: string | null; port: number; given: boolean }[] {
    return [...this.#entries.values()].map((e) => ({ key: e.key, fd: e.handle.fd, address: e.bound.address, port: e.bound.port, given: e.given }));
  }
}

/** The sockets of this process, shared by every cluster in it and every copy of this module (the ESM and CommonJS builds may both be loaded). */
const shared = globalThis as { [key: symbol]: SocketTable | undefined };
const SHARED_KEY = Symbol.for('qilin.sockets');
shared[SHARED_KEY] ??= new SocketTable();
export const SOCKETS: SocketTable = shared[SHARED_KEY];
