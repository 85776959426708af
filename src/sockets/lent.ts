// Descriptors lent to node:cluster's round-robin: a copy of one of the primary's sockets, which node:cluster's round-robin handle listens and accepts on, and closes itself once its last worker has gone.
//
// node:cluster's primary, asked by a worker to listen with `{fd}`, accepts on that descriptor of its own
// process and closes it when the last worker using it leaves. It must not be the descriptor the socket table
// holds (the table's copy is what keeps the socket open between workers, and what an upgrade hands over), and
// Node has no dup(): the copy is made by sending the socket to a worker, which sends it straight back.

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
  readonly fd: number;
  /**
   * The handle the copy came in. node:cluster opens its own handle on the same descriptor, and closes it; this
   * one is kept, never closed (that would close node:cluster's socket, or later another file under that number).
   */
  readonly handle: Handle;
  /** The workers told to listen on it, which node:cluster's handle serves; it closes the descriptor when they are gone. */
  readonly users: Set<object>;
  /** node:cluster listens on it: a worker reported a listen on this descriptor, so node:cluster is the one to close it. */
  served: boolean;
  readonly address: LentAddress | null;
}

function addressOf(handle: Handle): LentAddress | null {
  const out: Record<string, unknown> = {};
  if (typeof handle.getsockname !== 'function' || handle.getsockname(out) !== 0 || typeof out.port !== 'number') return null;
  return { address: String(out.address), port: out.port, addressType: out.family === 'IPv6' ? 6 : 4 };
}

export class LentDescriptors {
  readonly #loans = new Map<string, Loan>();

  /** The descriptor lent for the socket `key`, now used by `user` too; null when there is none yet (a copy must be made). */
  fdFor(key: string, user: object): number | null {
    const loan = this.#loans.get(key);
    if (!loan) return null;
    loan.users.add(user);
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
    this.#loans.set(key, { fd: handle.fd, handle, users: new Set([user]), served: false, address: addressOf(handle) });
    return handle.fd;
  }

  /**
   * A worker listens through node:cluster on descriptor `fd` (its `listening` event says so, with no address
   * for a listen by descriptor): node:cluster closes it from now on. Returns where that socket listens.
   */
  served(fd: unknown): LentAddress | null {
    for (const loan of this.#loans.values()) {
      if (loan.fd !== fd) continue;
      loan.served = true;
      return loan.address;
    }
    return null;
  }

  /**
   * `user` has disconnected or exited, and node:cluster lets go of it too. A loan with no user left is
   * forgotten, and the next listen gets a new copy. node:cluster has closed a descriptor it listened on; one it
   * never got (its worker died before listening) is closed here, or it would stay open for good.
   */
  release(user: object): void {
    for (const [key, loan] of this.#loans) {
      if (!loan.users.delete(user) || loan.users.size > 0) continue;
      this.#loans.delete(key);
      if (!loan.served) loan.handle.close();
    }
  }

  /** How many sockets are lent now, for tests. */
  get size(): number {
    return this.#loans.size;
  }
}

/** node:cluster's round-robin handles are one set per process: so are the loans to them. */
const shared = globalThis as { [key: symbol]: LentDescriptors | undefined };
const SHARED_KEY = Symbol.for('qilin.lent-descriptors');
shared[SHARED_KEY] ??= new LentDescriptors();
export const LENT: LentDescriptors = shared[SHARED_KEY];
