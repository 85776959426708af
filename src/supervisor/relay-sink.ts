// One cluster's side of the round-robin relay: which of its workers gets each connection the primary accepts, their acknowledgements, and the connections to relay again (refused, or lost to a worker out of file descriptors).
import { describeHandoffsLost } from '../notices.js';
import { RELAY, type RelaySink } from '../sockets/relay.js';
import type { Worker } from 'node:cluster';
import { Deliveries, type Relayed, type Returned, closeHandle } from './deliveries.js';
import { takers } from './handover.js';
import type { SupervisorHost, SupervisorIO } from './host.js';
import { stickyTaker } from './sticky.js';
import { LOST_HANDOFF_LOG_EVERY, STUCK_HANDOFF } from './timing.js';
import type { WorkerHandle } from './worker-handle.js';

/** What the relay needs of its cluster's supervisor. */
interface RelayHost {
  readonly host: SupervisorHost;
  readonly io: SupervisorIO;
  readonly handles: ReadonlyMap<Worker, WorkerHandle>;
  /** The slots there are (`workers`), onto which sticky sessions map client addresses. */
  readonly options: { readonly workers: number };
}

/** The client's address of a raw TCP handle, or null. */
function peerOf(connection: unknown): string | null {
  const handle = connection as { getpeername?: (out: Record<string, unknown>) => number };
  const out: Record<string, unknown> = {};
  return typeof handle.getpeername === 'function' && handle.getpeername(out) === 0 && typeof out.address === 'string' ? out.address : null;
}

export class ClusterRelay implements RelaySink {
  readonly #supervisor: RelayHost;
  #turn = 0;
  /** The cluster has stopped serving: a worker that listens late does not make the primary accept again. */
  #left = false;

  constructor(supervisor: RelayHost) {
    this.#supervisor = supervisor;
  }

  /** Watches the deliveries to a worker forked with round-robin and the runtime. */
  attach(handle: WorkerHandle): void {
    handle.deliveries = new Deliveries(
      (message, connection) => {
        if (!handle.connected) return false;
        handle.send(message, connection);
        return true;
      },
      (id) => handle.send({ cmd: 'qilin:ping', id }),
    );
  }

  /** A worker listens on the relayed socket `key` and sent its copy: the primary accepts on it, for this cluster too. */
  listening(key: string, port: number, copy: unknown): void {
    if (this.#left) closeHandle(copy);
    else RELAY.serve(key, port, copy, this);
  }

  /**
   * The next worker that can take a connection on `port`, in turn: serving, listening there, with descriptors
   * to spare, and none of its deliveries lost in the last STUCK_HANDOFF ms. With sticky sessions, the one
   * whose slot the client's address maps to (the next slot's when it has none, or for a retry).
   */
  offer(relayed: Relayed, port: number): boolean {
    const supervisor = this.#supervisor;
    const now = supervisor.io.now();
    const chosen = takers(supervisor.handles.values(), port).filter((h) => h.deliveries !== null && now - h.lostAt >= STUCK_HANDOFF);
    if (supervisor.host.balance === 'sticky') {
      const handle = stickyTaker(chosen, supervisor.options.workers, peerOf(relayed.connection), relayed.tries);
      return handle?.deliveries?.deliver(relayed, now) ?? false;
    }
    for (let i = 0; i < chosen.length; i += 1) {
      const handle = chosen[this.#turn++ % chosen.length];
      if (handle?.deliveries?.deliver(relayed, now)) return true;
    }
    return false;
  }

  /** A worker's acknowledgement (`qilin:taken`). */
  taken(handle: WorkerHandle, taken: unknown, refused: unknown): void {
    if (!handle.deliveries || !Array.isArray(taken) || !Array.isArray(refused)) return;
    this.#returned(handle, handle.deliveries.taken(taken, refused));
  }

  /** A worker's pong: the deliveries it never received come back. */
  pong(handle: WorkerHandle, id: number): void {
    if (handle.deliveries) this.#returned(handle, handle.deliveries.pong(id));
  }

  /**
   * Probes the workers with a delivery unacknowledged for STUCK_HANDOFF; and gives what waits in the primary to
   * a worker that can take it again since (one whose lost delivery is far enough behind it).
   */
  check(now: number): void {
    for (const handle of this.#supervisor.handles.values()) handle.deliveries?.check(STUCK_HANDOFF, now);
    RELAY.flush();
  }

  /** The worker has exited or disconnected: its unacknowledged connections are closed. */
  gone(handle: WorkerHandle): void {
    handle.deliveries?.drop();
  }

  /** A worker can take connections now: those held go to it. */
  flush(): void {
    RELAY.flush();
  }

  /** The cluster stops serving: the primary stops accepting for it. */
  leave(): void {
    this.#left = true;
    RELAY.leave(this);
  }

  #returned(handle: WorkerHandle, returned: Returned): void {
    const supervisor = this.#supervisor;
    const { host } = supervisor;
    if (returned.lost > 0) {
      const now = supervisor.io.now();
      handle.lostAt = now;
      const info = { slot: handle.slot, generation: handle.generation, count: returned.lost };
      if (host.emitting) host.emit('handoffsLost', handle.worker, info);
      if (now - handle.lostLoggedAt >= LOST_HANDOFF_LOG_EVERY) {
        handle.lostLoggedAt = now;
        host.log('warnings', describeHandoffsLost(handle.pid, info));
      }
    }
    for (const relayed of returned.again) RELAY.again(relayed);
  }
}
