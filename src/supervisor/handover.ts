// Where a retiring worker's idle keep-alive connection goes: a serving worker of the newest generation that listens on its port, in turn; and where a connection a busy worker passes on to rebalance goes: an idler worker the rebalancer chose.
import type { Closable } from './deliveries.js';
import { WaitingRoom } from './waiting.js';
import type { WorkerHandle } from './worker-handle.js';

/** What the choice needs to know of a worker. */
export interface Candidate {
  readonly state: string;
  readonly generation: number;
  readonly hasRuntime: boolean;
  readonly ports: ReadonlySet<number>;
  readonly connected: boolean;
  /** EMFILE or ENFILE while the worker is out of file descriptors: a connection sent to it would be lost. */
  readonly outOfDescriptors: string | null;
}

/** A worker that can take a connection on `port` now: serving, with the runtime and an open channel, listening there, with descriptors to spare. */
export function canTake(candidate: Candidate, port: number): boolean {
  return candidate.state === 'ready' && candidate.hasRuntime && candidate.connected && candidate.ports.has(port) && candidate.outOfDescriptors === null;
}

/**
 * The workers a new connection on `port` can be relayed to (round-robin): every worker that can take one,
 * whatever its generation, so a rolling reload spreads the load over the old workers still serving too. Pure.
 */
export function takers<C extends Candidate>(candidates: Iterable<C>, port: number): C[] {
  const chosen: C[] = [];
  for (const candidate of candidates) if (canTake(candidate, port)) chosen.push(candidate);
  return chosen;
}

/**
 * The workers that can take a handed-over connection for `port`: serving their slot (`ready`: not being
 * replaced or retired), with the runtime (which adopts it) and an open channel, listening on that port, not
 * out of file descriptors; of those, the newest generation only, so a connection moves once during a reload, not from old worker to old worker.
 * Pure.
 */
export function heirs<C extends Candidate>(candidates: Iterable<C>, port: number): C[] {
  let newest = Number.NEGATIVE_INFINITY;
  let chosen: C[] = [];
  for (const candidate of candidates) {
    if (!canTake(candidate, port)) continue;
    if (candidate.generation > newest) {
      newest = candidate.generation;
      chosen = [];
    }
    if (candidate.generation === newest) chosen.push(candidate);
  }
  return chosen;
}

/** Who passed a connection on to rebalance, and when (the monotonic clock). */
export interface Rebalanced {
  readonly worker: WorkerHandle;
  readonly now: number;
}

/** A connection waiting for a worker that can take it: nobody listened on its port when it came. */
interface Waiting {
  readonly port: number;
  /** The raw handle received over IPC, closed once passed on (the receiver holds its own copy) or when nobody can take it. */
  readonly handle: Closable;
}

/**
 * How long a handed-over connection waits in the primary for a worker that can take it (the only worker
 * crashed, and its replacement is starting). Its client's next request waits in the kernel meanwhile.
 */
export const HEIR_WAIT = 10_000;

/** Passes handed-over connections on, spreading them over the heirs in turn. */
export class Handovers {
  #turn = 0;
  /** Rebalancing: the workers that should get connections passed on by busier ones, how many more each, and until when (the monotonic clock). */
  #steer: { readonly wants: Map<WorkerHandle, number>; readonly until: number } | null = null;
  readonly #waiting = new WaitingRoom<Waiting>(HEIR_WAIT, (waiting) => waiting.handle);
  /** Where connections go that no worker here can take: a new primary, during an upgrade. */
  #elsewhere: ((port: number, connection: Closable) => boolean) | null = null;

  /**
   * From now on a connection no worker of this cluster can take goes to `forward` (which returns false when it
   * cannot send it), the ones waiting too: the old primary of an upgrade hands them to the new one.
   */
  forwardTo(forward: (port: number, connection: Closable) => boolean): void {
    this.#elsewhere = forward;
    this.#waiting.offer((waiting) => forward(waiting.port, waiting.handle));
  }

  /** Connections are forwarded to a new primary. */
  get forwarding(): boolean {
    return this.#elsewhere !== null;
  }

  /**
   * Sends `connection` (received with a `qilin:handover` message from a retiring worker) to a worker that
   * stays and listens on `port`. When there is none yet, it waits here, unread, for one to be ready (`flush`),
   * for at most HEIR_WAIT; then it is closed, which is what the retiring worker would have done. With `wait`
   * false (the cluster is stopping) it is closed at once.
   */
  pass(workers: Iterable<WorkerHandle>, port: number, connection: unknown, wait = true, from: Rebalanced | null = null): void {
    const handle = connection as Closable | undefined;
    if (!handle || typeof handle.close !== 'function') return;
    const heir = from ? this.#rebalanceHeir(from, workers, port) : this.#heirOf(workers, port);
    if (heir) {
      give(heir, port, handle);
      return;
    }
    if (this.#elsewhere?.(port, handle)) return;
    if (!wait) {
      handle.close();
      return;
    }
    this.#waiting.add({ port, handle });
  }

  /**
   * For `withinMs` from `now`, connections a busier worker passes on (rebalancing) go to `wants`' workers, as
   * many as each wants, the one wanting most first.
   */
  steer(wants: Map<WorkerHandle, number>, now: number, withinMs: number): void {
    this.#steer = wants.size === 0 ? null : { wants, until: now + withinMs };
  }

  /** Where a connection passed on to rebalance goes: a worker that wants one, else back to the worker that passed it, else any heir. */
  #rebalanceHeir(from: Rebalanced, workers: Iterable<WorkerHandle>, port: number): WorkerHandle | null {
    return this.#steered(from, port) ?? (canTake(from.worker, port) ? from.worker : this.#heirOf(workers, port));
  }

  #steered(from: Rebalanced, port: number): WorkerHandle | null {
    const steer = this.#steer;
    if (steer === null || from.now > steer.until) return null;
    let chosen: WorkerHandle | null = null;
    for (const [worker, wanted] of steer.wants) {
      if (wanted > 0 && worker !== from.worker && canTake(worker, port) && (chosen === null || wanted > (steer.wants.get(chosen) ?? 0))) chosen = worker;
    }
    if (chosen) steer.wants.set(chosen, (steer.wants.get(chosen) ?? 1) - 1);
    return chosen;
  }

  /** A worker has become ready: the connections waiting for its port go to the heirs now. */
  flush(workers: Iterable<WorkerHandle>): void {
    if (this.#waiting.size === 0) return;
    const all = [...workers];
    this.#waiting.offer((waiting) => {
      const heir = this.#heirOf(all, waiting.port);
      if (heir) give(heir, waiting.port, waiting.handle);
      return heir !== null;
    });
  }

  /** The cluster stops: nobody will take the connections still waiting. */
  closeAll(): void {
    this.#waiting.closeAll();
  }

  #heirOf(workers: Iterable<WorkerHandle>, port: number): WorkerHandle | null {
    const chosen = heirs(workers, port);
    return chosen.length === 0 ? null : (chosen[this.#turn++ % chosen.length] ?? null);
  }
}

/** Sends the connection to `heir`, and closes this process's copy once it is written (the heir holds its own). */
function give(heir: WorkerHandle, port: number, handle: Closable): void {
  heir.send({ cmd: 'qilin:handover', port }, handle, () => handle.close());
}
