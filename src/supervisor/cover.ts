// Balance 'reuseport': the kernel gives each slot's socket its share of new connections whether or not a worker of that slot accepts on it. While none does, a removed slot's socket is adopted by every worker that stays, each accepting on it beside its own; any other (the slot's worker crashed and waits to respawn, it left, it is out of file descriptors) is accepted on by the primary, which passes each connection to a serving worker.
import type { Worker } from 'node:cluster';
import { BACKLOG } from '../sockets/listen-args.js';
import { type Closable, closeHandle } from './deliveries.js';
import { canTake } from './handover.js';
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

/** What the cover reads of a worker. */
export interface Listener {
  readonly state: WorkerState;
  readonly outOfDescriptors: string | null;
}

/** Whether any of `workers`, all of which listened on a slot's socket, still accepts on it (one out of file descriptors does not). Pure. */
export function accepted(workers: Iterable<Listener>): boolean {
  for (const worker of workers) if (ACCEPTING.has(worker.state) && worker.outOfDescriptors === null) return true;
  return false;
}

/** The slot of a slot socket's key (`address:port@slot`), or null. Pure. */
export function slotOfKey(key: string): number | null {
  const match = /@(\d+)$/.exec(key);
  return match ? Number(match[1]) : null;
}

interface SlotSocket {
  readonly key: string;
  readonly port: number;
  readonly slot: number;
  /** The socket table's own handle: sent to an adopter (sending leaves it open here), never accepted on or closed by the cover. */
  readonly handle: object;
  /** The workers of the slot (and a canary) that said they listen on it and have not exited. */
  readonly listeners: Set<WorkerHandle>;
  /** The primary's copy: kept unused while a worker accepts, accepted on while none does. */
  copy: ListenHandle | null;
  covering: boolean;
  /** A fresh copy has been asked for and not come yet. */
  asked: boolean;
  /**
   * The workers of the slots that stay accepting on this removed slot's socket (true once it has been written
   * to them), and those that could not.
   */
  readonly adopters: Map<WorkerHandle, boolean>;
  readonly refused: WeakSet<WorkerHandle>;
}

/** What the cover needs of its cluster's supervisor. */
export interface CoverHost {
  readonly host: { readonly running: boolean };
  readonly handles: ReadonlyMap<Worker, WorkerHandle>;
  readonly handovers: { pass(workers: Iterable<WorkerHandle>, port: number, connection: unknown, wait: boolean): void };
  /** How many slots the cluster has now: a slot at or above it was removed. */
  readonly slotCount: number;
  /** The serving workers of the slots below `slotCount`, a canary's left out. */
  staying(): WorkerHandle[];
  readonly sockets: {
    handleOf(key: string): object | null;
    unclaimed(): { key: string; port: number; handle: object }[];
    claim(owner: object, key: string): void;
  };
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
    const slot = slotOfKey(key);
    if (this.#left || slot === null || !isListenHandle(copy)) {
      closeHandle(copy);
      return;
    }
    const socket = this.#sockets.get(key) ?? this.#add(key, port, slot, this.#supervisor.sockets.handleOf(key));
    if (!socket) {
      closeHandle(copy);
      return;
    }
    socket.listeners.add(handle);
    this.#keep(socket, copy);
    this.check();
  }

  /** A fresh copy of `key`, asked for with `qilin:spare-request`. */
  spare(key: unknown, copy: unknown): void {
    const socket = typeof key === 'string' ? this.#sockets.get(key) : undefined;
    if (this.#left || !socket || !isListenHandle(copy)) {
      closeHandle(copy);
      return;
    }
    socket.asked = false;
    if (socket.copy === null) socket.copy = copy;
    else closeHandle(copy);
    this.check();
  }

  /** `handle` answered a `qilin:adopt-socket`: it accepts on `key` now, or it could not. */
  adopted(handle: WorkerHandle, key: unknown, ok: boolean): void {
    const socket = typeof key === 'string' ? this.#sockets.get(key) : undefined;
    if (!socket?.adopters.has(handle) || ok) return;
    socket.adopters.delete(handle);
    socket.refused.add(handle);
    this.check();
  }

  /** A worker changed state, or its descriptors: each slot socket is accepted on by its slot, an adopter, or the primary. */
  check(): void {
    if (this.#left) return;
    this.#takeUnclaimed();
    for (const socket of this.#sockets.values()) this.#settle(socket);
  }

  /**
   * Slot sockets an old primary handed over for slots this cluster does not have (it had more workers): no
   * worker here will listen on them, so they are adopted like a removed slot's, once a worker serves their port.
   */
  #takeUnclaimed(): void {
    const supervisor = this.#supervisor;
    if (!supervisor.host.running) return;
    for (const { key, port, handle } of supervisor.sockets.unclaimed()) {
      const slot = slotOfKey(key);
      if (slot === null || slot < supervisor.slotCount || this.#sockets.has(key)) continue;
      if (![...supervisor.handles.values()].some((worker) => worker.ports.has(port))) continue;
      supervisor.sockets.claim(supervisor, key);
      this.#add(key, port, slot, handle);
    }
  }

  #add(key: string, port: number, slot: number, handle: object | null): SlotSocket | null {
    if (handle === null) return null;
    const socket: SlotSocket = {
      key,
      port,
      slot,
      handle,
      listeners: new Set(),
      copy: null,
      covering: false,
      asked: false,
      adopters: new Map(),
      refused: new WeakSet(),
    };
    this.#sockets.set(key, socket);
    return socket;
  }

  /** On how many slots' sockets the primary accepts now. */
  get covering(): number {
    let count = 0;
    for (const socket of this.#sockets.values()) if (socket.covering) count += 1;
    return count;
  }

  /** How many removed slots' sockets other workers accept on now. */
  get adopting(): number {
    let count = 0;
    for (const socket of this.#sockets.values()) if (socket.adopters.size > 0) count += 1;
    return count;
  }

  /**
   * The cluster stops serving (shutdown, or an upgrade's new primary takes over): the copies are closed, and
   * what is still queued on a slot's socket stays there, for whoever else has it.
   */
  leave(): void {
    this.#left = true;
    for (const socket of this.#sockets.values()) {
      this.#stopCovering(socket, false);
      closeHandle(socket.copy);
      socket.copy = null;
    }
    this.#sockets.clear();
  }

  #settle(socket: SlotSocket): void {
    const supervisor = this.#supervisor;
    for (const listener of socket.listeners) if (listener.state === 'exited') socket.listeners.delete(listener);
    // An adopter that stopped accepting is gone for good; one out of file descriptors stays, and is covered for.
    for (const adopter of socket.adopters.keys()) if (!ACCEPTING.has(adopter.state)) socket.adopters.delete(adopter);
    if (accepted(socket.listeners)) {
      // The slot accepts on its socket again: nobody else need.
      for (const adopter of socket.adopters.keys()) adopter.send({ cmd: 'qilin:drop-socket', key: socket.key });
      socket.adopters.clear();
      this.#stopCovering(socket);
      return;
    }
    if (!supervisor.host.running) return;
    // Every worker that stays adopts a removed slot's socket, so the removed slots' shares are split among
    // them all: after 6 workers to 4, each gets its own sixth and a quarter of each removed one.
    if (socket.slot >= supervisor.slotCount) for (const adopter of this.#newAdopters(socket)) this.#adopt(socket, adopter);
    const written = [...socket.adopters].filter(([, sent]) => sent).map(([adopter]) => adopter);
    if (accepted(written)) this.#stopCovering(socket);
    else this.#cover(socket);
  }

  /** Serving workers of the slots that stay which could take `socket` and have not been given it. */
  #newAdopters(socket: SlotSocket): WorkerHandle[] {
    return this.#supervisor
      .staying()
      .filter((candidate) => !socket.adopters.has(candidate) && !socket.refused.has(candidate) && canTake(candidate, socket.port));
  }

  #adopt(socket: SlotSocket, adopter: WorkerHandle): void {
    socket.adopters.set(adopter, false);
    // The table's handle: sending a raw handle leaves it open here. If the primary was accepting on its
    // copy, it goes on until an adopter has been sent the socket.
    adopter.send({ cmd: 'qilin:adopt-socket', key: socket.key, port: socket.port }, socket.handle, () => {
      if (!socket.adopters.has(adopter)) return;
      socket.adopters.set(adopter, true);
      this.#stopCovering(socket, false);
      // A copy of its own to accept on, should the adopters go with no worker to take over.
      this.#askCopy(socket);
    });
  }

  /** Keeps `copy` as the socket's copy when it has none usable (or the one it has is being accepted on); else closes it. */
  #keep(socket: SlotSocket, copy: ListenHandle): void {
    if (socket.covering || socket.copy === null) {
      this.#stopCovering(socket, false);
      socket.copy = copy;
      socket.asked = false;
    } else {
      closeHandle(copy);
    }
  }

  #cover(socket: SlotSocket): void {
    if (socket.covering) return;
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

  /**
   * libuv cannot stop accepting on a handle and go on holding it: the copy accepted on is closed (the socket
   * stays open), and a fresh one is asked of a worker that has the socket.
   */
  #stopCovering(socket: SlotSocket, ask = true): void {
    if (!socket.covering) return;
    socket.covering = false;
    if (socket.copy) {
      socket.copy.onconnection = null;
      socket.copy.close();
    }
    socket.copy = null;
    if (ask) this.#askCopy(socket);
  }

  #askCopy(socket: SlotSocket): void {
    if (socket.asked || socket.copy !== null) return;
    const holder = [...socket.listeners, ...socket.adopters.keys()].find((worker) => accepted([worker]) && worker.connected);
    if (!holder) return;
    socket.asked = true;
    holder.send({ cmd: 'qilin:spare-request', key: socket.key });
  }
}
