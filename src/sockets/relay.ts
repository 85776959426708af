// Round-robin of Qilin's own: the primary accepts on a copy of each socket its workers listen on and relays every connection to a worker of a cluster serving that socket, in turn; it stops accepting cleanly (an upgrade, a shutdown), and a connection no worker can take yet waits here, for a while.
import type { Closable, Relayed } from '../supervisor/deliveries.js';
import { WaitingRoom } from '../supervisor/waiting.js';
import { BACKLOG } from './listen-args.js';

/** The part of libuv's TCP handle the acceptor uses: a copy of one of the table's sockets. */
interface ListenHandle extends Closable {
  listen(backlog: number): number;
  onconnection: ((status: number, client: Closable | undefined) => void) | null;
}

/** A cluster whose workers listen on a relayed socket. */
export interface RelaySink {
  /** Gives `relayed` to one of its workers listening on `port`; false when none can take it now. */
  offer(relayed: Relayed, port: number): boolean;
}

interface Acceptor {
  readonly key: string;
  readonly port: number;
  readonly handle: ListenHandle;
  readonly sinks: RelaySink[];
  turn: number;
  /** Connections no worker could take yet, waiting in the primary, unread. */
  readonly held: WaitingRoom<Relayed>;
}

/**
 * How long an accepted connection waits in the primary for a worker that can take it (the only worker
 * crashed and its replacement is starting, or every worker is out of file descriptors), and how many may
 * wait per socket: past either, it is closed, as a full backlog would have refused it.
 */
export const HOLD_WAIT = 10_000;
export const HOLD_LIMIT = 1_024;

/** A connection offered to this many workers in turn that all refused it (each at `maxConnections`) is closed. */
const MAX_TRIES = 16;

export class Relay {
  readonly #acceptors = new Map<string, Acceptor>();

  /**
   * A worker of `sink` listens on the socket `key` (at `port`) and sent `copy` of it: the first copy is accepted
   * on, from now until the last cluster serving that socket leaves; later copies are closed. False when the
   * copy cannot be listened on (it was not a listening socket's handle).
   */
  serve(key: string, port: number, copy: unknown, sink: RelaySink): boolean {
    const handle = copy as ListenHandle | undefined;
    if (!handle || typeof handle.close !== 'function') return false;
    const acceptor = this.#acceptors.get(key);
    if (acceptor) {
      handle.close();
      if (!acceptor.sinks.includes(sink)) acceptor.sinks.push(sink);
      return true;
    }
    if (typeof handle.listen !== 'function') {
      handle.close();
      return false;
    }
    const created: Acceptor = { key, port, handle, sinks: [sink], turn: 0, held: new WaitingRoom(HOLD_WAIT, (relayed) => relayed.connection, HOLD_LIMIT) };
    handle.onconnection = (status, client) => {
      // A failed accept (EMFILE in the primary) leaves the connection queued in the kernel, as libuv does.
      if (status === 0 && client) this.#dispatch(created, { key, connection: client, tries: 0 });
    };
    if (handle.listen(BACKLOG) !== 0) {
      handle.close();
      return false;
    }
    this.#acceptors.set(key, created);
    return true;
  }

  /** A connection a worker refused or never received: offered again, or held. */
  again(relayed: Relayed): void {
    const acceptor = this.#acceptors.get(relayed.key);
    if (acceptor) this.#dispatch(acceptor, relayed);
    else relayed.connection.close();
  }

  /** A worker has become able to take connections: the ones held go now. */
  flush(): void {
    for (const acceptor of this.#acceptors.values()) {
      if (acceptor.held.size > 0) acceptor.held.offer((relayed) => this.#offer(acceptor, relayed), true);
    }
  }

  /**
   * `sink` stops serving (its cluster is shutting down, or upgraded to a new primary): it leaves every socket,
   * and the primary stops accepting on a socket no cluster serves any more; what is still queued in the kernel
   * is left there, for whoever else has the socket (a new primary, or the next cluster to listen on it).
   */
  leave(sink: RelaySink): void {
    for (const [key, acceptor] of this.#acceptors) {
      const at = acceptor.sinks.indexOf(sink);
      if (at === -1) continue;
      acceptor.sinks.splice(at, 1);
      if (acceptor.sinks.length > 0) continue;
      this.#acceptors.delete(key);
      acceptor.handle.onconnection = null;
      acceptor.handle.close();
      acceptor.held.closeAll();
    }
  }

  /** How many sockets are accepted on now. */
  get size(): number {
    return this.#acceptors.size;
  }

  #dispatch(acceptor: Acceptor, relayed: Relayed): void {
    if (relayed.tries >= MAX_TRIES) {
      relayed.connection.close();
      return;
    }
    if (!this.#offer(acceptor, relayed)) acceptor.held.add(relayed);
  }

  /** Offers `relayed` to the clusters serving its socket, in turn; true once one of them took it. */
  #offer(acceptor: Acceptor, relayed: Relayed): boolean {
    const { sinks } = acceptor;
    for (let i = 0; i < sinks.length; i += 1) {
      const sink = sinks[acceptor.turn++ % sinks.length];
      if (sink?.offer(relayed, acceptor.port)) {
        relayed.tries += 1;
        return true;
      }
    }
    return false;
  }
}

/** The primary's sockets are one set per process: so is the accepting on them. */
const shared = globalThis as { [key: symbol]: Relay | undefined };
const SHARED_KEY = Symbol.for('qilin.relay');
shared[SHARED_KEY] ??= new Relay();
export const RELAY: Relay = shared[SHARED_KEY];
