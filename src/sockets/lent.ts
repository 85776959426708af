// Descriptors lent to node:cluster's round-robin: a copy of one of the primary's sockets, which node:cluster's round-robin handle listens and accepts on, and closes itself once no worker listens on it.
//
// node:cluster's primary, asked by a worker to listen with `{fd}`, accepts on that descriptor of its own
// process and closes it when the last worker listening on it leaves. It must not be the descriptor the socket
// table holds (the table's copy is what keeps the socket open between workers, and what an upgrade hands
// over), and Node has no dup(): the copy is made by sending the socket to a worker, which sends it straight back.
//
// Which workers node:cluster's handle serves is mirrored from node:cluster's own messages (`observe`, which
// sees each worker's messages before node:cluster does), so the loan is forgotten in the same turn as
// node:cluster closes the descriptor, and a later listen gets a new copy.

/** A raw TCP handle as IPC delivers it. */
interface Handle {
  readonly fd: number;
  getsockname?(out: Record<string, unknown>): number;
  close(): void;
}

/** Where a lent socket listens, as node:cluster's `listening` event gives an address. */
export interface LentAddress {
  readonly address: string;
  readonly port: number;
  readonly addressType: 4 | 6;
}

interface Loan {
  readonly key: string;
  readonly fd: number;
  /**
   * The handle the copy came in. node:cluster opens its own handle on the same descriptor, and closes it; this
   * one is never closed once node:cluster has it (that would close node:cluster's socket, or later another
   * file under that number).
   */
  readonly handle: Handle;
  /** Workers told the descriptor that have not asked node:cluster to listen on it yet. */
  readonly told: Set<object>;
  /** Workers node:cluster's handle serves: it closes the descriptor when the last one leaves. */
  readonly listening: Set<object>;
  /** node:cluster has listened on it. */
  served: boolean;
  readonly address: LentAddress | null;
}

/** node:cluster's message from a worker: `queryServer` asks it to listen (with `fd`), `close` (by key) ends that worker's listen. */
interface ClusterMessage {
  cmd?: unknown;
  act?: unknown;
  fd?: unknown;
  key?: unknown;
  port?: unknown;
  address?: unknown;
  addressType?: unknown;
}

function addressOf(handle: Handle): LentAddress | null {
  const out: Record<string, unknown> = {};
  if (typeof handle.getsockname !== 'function' || handle.getsockname(out) !== 0 || typeof out.port !== 'number') return null;
  return { address: String(out.address), port: out.port, addressType: out.family === 'IPv6' ? 6 : 4 };
}

/** The descriptor in node:cluster's key for a listen, `${address}:${port}:${addressType}:${fd}:${index}`. */
function fdOfKey(key: unknown): number | null {
  if (typeof key !== 'string') return null;
  const parts = key.split(':');
  const fd = Number(parts[parts.length - 2]);
  return Number.isInteger(fd) && fd >= 0 ? fd : null;
}

export class LentDescriptors {
  readonly #loans = new Map<string, Loan>();
  /** Descriptors node:cluster has closed, by the socket they were a copy of: a worker told one late must not listen on it. */
  readonly #closed = new Map<number, { key: string; address: LentAddress | null }>();

  /** The descriptor lent for the socket `key`, now told to `user` too; null when there is none yet (a copy must be made). */
  fdFor(key: string, user: object): number | null {
    const loan = this.#loans.get(key);
    if (!loan) return null;
    loan.told.add(user);
    return loan.fd;
  }

  /**
   * A copy of the socket `key` came back from a worker: lends it, to `user` first, and returns its descriptor. If
   * another worker's copy came first, that one is lent and this one closed (node:cluster would otherwise serve the
   * two on separate handles, each to its own workers).
   */
  lend(key: string, copy: unknown, user: object): number | null {
    const handle = copy as Handle | undefined;
    if (!handle || typeof handle.fd !== 'number' || handle.fd < 0 || typeof handle.close !== 'function') return null;
    const lent = this.fdFor(key, user);
    if (lent !== null) {
      handle.close();
      return lent;
    }
    this.#closed.delete(handle.fd);
    const loan: Loan = { key, fd: handle.fd, handle, told: new Set([user]), listening: new Set(), served: false, address: addressOf(handle) };
    this.#loans.set(key, loan);
    return handle.fd;
  }

  /**
   * Sees `user`'s message to node:cluster before node:cluster does. A listen on a lent descriptor is counted; one
   * on a descriptor node:cluster has closed since (the worker was told it just before the last listener left) is
   * pointed at the socket's current copy, or at its address, where it fails as a taken port and the worker is
   * restarted, rather than at whatever file has that number now. A close of a listen is counted.
   */
  observe(user: object, message: ClusterMessage): void {
    if (message?.cmd !== 'NODE_CLUSTER') return;
    if (message.act === 'queryServer' && typeof message.fd === 'number') {
      const closed = this.#closed.get(message.fd);
      if (closed) {
        const current = this.#loans.get(closed.key);
        if (current) message.fd = current.fd;
        else {
          message.fd = -1;
          message.port = closed.address?.port ?? 0;
          message.address = closed.address?.address ?? null;
          message.addressType = closed.address?.addressType ?? 4;
          return;
        }
      }
      const loan = this.#byFd(message.fd);
      if (!loan) return;
      loan.told.delete(user);
      loan.listening.add(user);
      loan.served = true;
    } else if (message.act === 'close') {
      const loan = this.#byFd(fdOfKey(message.key));
      if (loan?.listening.delete(user)) this.#settle(loan);
    }
  }

  /** `user` has disconnected or exited: node:cluster lets go of it too, in the same turn. */
  release(user: object): void {
    for (const loan of [...this.#loans.values()]) {
      const told = loan.told.delete(user);
      if (loan.listening.delete(user) || told) this.#settle(loan);
    }
  }

  /** Where the socket lent at descriptor `fd` listens, for node:cluster's `listening` event, which has no address for a listen by descriptor. */
  addressOf(fd: unknown): LentAddress | null {
    return this.#byFd(fd)?.address ?? null;
  }

  /** How many sockets are lent now. */
  get size(): number {
    return this.#loans.size;
  }

  /**
   * A loan no worker listens on any more is forgotten. node:cluster has closed a descriptor it listened on; one
   * it never got (its workers died before listening) is closed here once nobody was told it, or it would stay open.
   */
  #settle(loan: Loan): void {
    if (loan.listening.size > 0) return;
    if (loan.served) {
      this.#loans.delete(loan.key);
      this.#closed.set(loan.fd, { key: loan.key, address: loan.address });
    } else if (loan.told.size === 0) {
      this.#loans.delete(loan.key);
      loan.handle.close();
    }
  }

  #byFd(fd: unknown): Loan | null {
    for (const loan of this.#loans.values()) if (loan.fd === fd) return loan;
    return null;
  }
}

/** node:cluster's round-robin handles are one set per process: so are the loans to them. */
const shared = globalThis as { [key: symbol]: LentDescriptors | undefined };
const SHARED_KEY = Symbol.for('qilin.lent-descriptors');
shared[SHARED_KEY] ??= new LentDescriptors();
export const LENT: LentDescriptors = shared[SHARED_KEY];
