// Where a retiring worker's idle keep-alive connection goes: a serving worker of the newest generation that listens on its port, in turn.
import type { WorkerHandle } from './worker-handle.js';

/** What the choice needs to know of a worker. */
export interface Candidate {
  readonly state: string;
  readonly generation: number;
  readonly hasRuntime: boolean;
  readonly ports: ReadonlySet<number>;
  readonly connected: boolean;
}

/**
 * The workers that can take a connection for `port`: serving their slot (`ready`: not being replaced or
 * retired), with the runtime (which adopts it) and an open channel, listening on that port; of those, the
 * newest generation only, so a connection moves once during a reload, not from old worker to old worker.
 * Pure.
 */
export function heirs<C extends Candidate>(candidates: Iterable<C>, port: number): C[] {
  let newest = Number.NEGATIVE_INFINITY;
  let chosen: C[] = [];
  for (const candidate of candidates) {
    if (candidate.state !== 'ready' || !candidate.hasRuntime || !candidate.connected || !candidate.ports.has(port)) continue;
    if (candidate.generation > newest) {
      newest = candidate.generation;
      chosen = [];
    }
    if (candidate.generation === newest) chosen.push(candidate);
  }
  return chosen;
}

/** A raw handle received over IPC, closed once passed on (the receiver holds its own copy) or when nobody can take it. */
interface Closable {
  close(): void;
}

/** Passes handed-over connections on, spreading them over the heirs in turn. */
export class Handovers {
  #turn = 0;

  /**
   * Sends `connection` (received with a `qilin:handover` message from a retiring worker) to a worker that
   * stays and listens on `port`; closes it when there is none, which is what the retiring worker would have
   * done. Returns the worker it went to, or null.
   */
  pass(workers: Iterable<WorkerHandle>, port: number, connection: unknown): WorkerHandle | null {
    const handle = connection as Closable | undefined;
    if (!handle || typeof handle.close !== 'function') return null;
    const candidates = [...workers].map((worker) => ({
      worker,
      state: worker.state,
      generation: worker.generation,
      hasRuntime: worker.hasRuntime,
      ports: worker.ports,
      connected: worker.alive && worker.worker.isConnected(),
    }));
    const chosen = heirs(candidates, port);
    if (chosen.length === 0) {
      handle.close();
      return null;
    }
    const heir = (chosen[this.#turn++ % chosen.length] as (typeof chosen)[number]).worker;
    heir.send({ cmd: 'qilin:handover', port }, handle, () => handle.close());
    return heir;
  }
}
