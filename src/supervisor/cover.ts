// Balance 'reuseport': the kernel gives each slot's socket its share of new connections whether or not a worker of that slot accepts on it, so while none does (it crashed and waits to respawn, it left, its slot was removed) the primary accepts on its copy of the socket and passes each connection to a serving worker.
import type { Worker } from 'node:cluster';
import { type Closable, closeHandle } from './deliveries.js';
import type { WorkerState } from './lifecycle.js';
import type { WorkerHandle } from './worker-handle.js';

/** The part of libuv's TCP handle the cover uses: a copy of a slot's socket, sent back by a worker listening on it. */
interface ListenHandle extends Closable {
  listen(backlog: number): number;
  onconnection: ((status: number, client: Closable | undefined) => void) | null;
}

function isListenHandle(value: unknown): value is ListenHandle {
  const handle = value as Partial<ListenHandle> | null | undefined;
  return typeof handle?.close === 'function' && typeof handle.listen === 'function';
}

/** States in which a worker that has listened accepts on its socket: from its listen until it starts to stop. */
const ACCEPTING: ReadonlySet<WorkerState> = new Set<WorkerState>(['starting', 'held', 'ready', 'replacing']);

/** Whether any of `workers`, all of which listened on a slot's socket, still accepts on it. Pure. */
export function accepted(workers: Iterable<{ readonly state: WorkerState }>): boolean {
  for (const worker of workers) if (ACCEPTING.has(worker.state)) return true;
  return false;
}

/** Node's default backlog for a listen. */
const BACKLOG = 511;

interface SlotSocket {
  readonly port: number;
  /** The workers that said they listen on it and have not exited. */
  readonly listeners: Set<WorkerHandle>;
  /** The primary's copy: kept unused while a worker accepts, accepted on while none does. */
  copy: ListenHandle | null;
  covering: boolean;
}

/** What the cover needs of its cluster's supervisor. */
export interface CoverHost {
  readonly host: { readonly running: boolean };
  readonly handles: ReadonlyMap<Worker, WorkerHandle>;
  readonly handovers: { pass(workers: Iterable<WorkerHandle>, port: number, connection: unknown, wait: boolean): void };
}

export class SlotCover {
  readonly #supervisor: CoverHost;
  /** By key in the socket table (`address:port@slot`). */
  readonly #sockets = new Map<string, SlotSocket>();
  /** The cluster has stopped serving: copies that arrive late are closed. */
  #left = false;

  constructor(supervisor: CoverHost) {
    this.#supervisor = supervisor;
  }

  /**
   * `handle` listens on the slot socket `key` (at `port`) and sent `copy` of it: if the primary was accepting
   * there, it stops, and `copy` is the one kept for the next time; otherwise the copy already kept stays.
   */
  listening(handle: WorkerHandle, key: string, port: number, copy: unknown): void {
    if (this.#left || !isListenHandle(copy)) {
      closeHandle(copy);
      return;
    }
    let socket = this.#sockets.get(key);
    if (!socket) {
      socket = { port, listeners: new Set(), copy: null, covering: false };
      this.#sockets.set(key, socket);
    }
    socket.listeners.add(handle);
    if (socket.covering || socket.copy === null) {
      this.#stopCovering(socket);
      socket.copy = copy;
    } else {
      closeHandle(copy);
    }
    this.check();
  }

  /** A worker changed state: every slot socket no worker accepts on any more is accepted on here. */
  check(): void {
    if (this.#left) return;
    for (const socket of this.#sockets.values()) {
      for (const listener of socket.listeners) if (listener.state === 'exited') socket.listeners.delete(listener);
      if (socket.covering || accepted(socket.listeners) || !this.#supervisor.host.running) continue;
      this.#cover(socket);
    }
  }

  /** On how many slots' sockets the primary accepts now. */
  get covering(): number {
    let count = 0;
    for (const socket of this.#sockets.values()) if (socket.covering) count += 1;
    return count;
  }

  /**
   * The cluster stops serving (shutdown, or an upgrade's new primary takes over): the copies are closed, and
   * what is still queued on a slot's socket stays there, for whoever else has it.
   */
  leave(): void {
    this.#left = true;
    for (const socket of this.#sockets.values()) {
      this.#stopCovering(socket);
      closeHandle(socket.copy);
      socket.copy = null;
    }
    this.#sockets.clear();
  }

  #cover(socket: SlotSocket): void {
    const { copy } = socket;
    if (copy === null) return;
    copy.onconnection = (status, client) => {
      // A failed accept (EMFILE in the primary) leaves the connection queued in the kernel, as libuv does.
      if (status !== 0 || !client) return;
      const supervisor = this.#supervisor;
      supervisor.handovers.pass(supervisor.handles.values(), socket.port, client, supervisor.host.running);
    };
    if (copy.listen(BACKLOG) !== 0) {
      copy.onconnection = null;
      copy.close();
      socket.copy = null;
      return;
    }
    socket.covering = true;
  }

  /** Libuv cannot stop accepting on a handle and go on holding it: the copy accepted on is closed (the socket stays open). */
  #stopCovering(socket: SlotSocket): void {
    if (!socket.covering) return;
    socket.covering = false;
    if (socket.copy) {
      socket.copy.onconnection = null;
      socket.copy.close();
    }
    socket.copy = null;
  }
}
