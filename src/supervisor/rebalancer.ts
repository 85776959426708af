// Rebalancing kept-alive connections in the kernel balancing: once a second the primary asks each worker how many busy connections it holds; a worker holding more than its share asks some of those clients to reconnect, and passes those that come back to it on to idler workers.
import type { RebalancedWorker } from '../events.js';
import { relays } from '../options.js';
import type { SupervisorCore } from './core.js';
import { planRebalance } from './rebalance.js';
import { REBALANCE_COUNT_WAIT, REBALANCE_INTERVAL } from './timing.js';
import type { WorkerHandle } from './worker-handle.js';

/**
 * With the kernel balancing, a connection stays on the worker that accepted it. Clients that open their pool
 * at once (wrk, a proxy's upstream keep-alive pool, a service mesh) can leave a worker with none, for as long
 * as they live. The kernel cannot move a connection, and moving one between workers is not safe while its
 * parser may hold part of the next request; a client asked to reconnect (its next response is whole, with
 * `Connection: close`) comes back through `accept()`. The kernel gives it to whichever worker accepts first,
 * often the same busy one (one worker measured here lost every such race for 20 s); that worker passes the
 * new connection on, before reading from it, through the primary to a worker below its share. Only
 * connections busy for the last few seconds are moved (the worker's `LASTING_WINDOWS`): a pool about to
 * close, as one reopened every few seconds, is not worth the reconnections.
 */
export class Rebalancer {
  readonly #supervisor: SupervisorCore;
  #timer: NodeJS.Timeout | null = null;
  #counting = false;

  constructor(supervisor: SupervisorCore) {
    this.#supervisor = supervisor;
  }

  start(): void {
    const { host, options } = this.#supervisor;
    if (relays(host.balance) || !options.runtime || this.#timer !== null) return;
    this.#timer = setInterval(() => void this.#round(), REBALANCE_INTERVAL);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #round(): Promise<void> {
    const supervisor = this.#supervisor;
    if (this.#counting || !supervisor.options.rebalance || !supervisor.host.running) return;
    const workers = this.#steady();
    if (workers === null || workers.length < 2) return;
    this.#counting = true;
    try {
      const loads = await Promise.all(workers.map((handle) => handle.countLoad(REBALANCE_COUNT_WAIT)));
      // A worker that did not answer, or a change meanwhile (a crash, a reload beginning): not this round.
      if (!sameWorkers(this.#steady(), workers) || loads.some((load) => load === null)) return;
      const busy = loads.map((load) => load?.busy ?? 0);
      // Every busy connection counts towards the spread, but only those that have lasted a few seconds are
      // moved: a pool that may be gone in a second (a burst, a short-lived client) is not worth the reconnections.
      const { shed, take } = planRebalance(
        busy,
        loads.map((load) => load?.lasting ?? 0),
      );
      if (shed.every((n) => n === 0)) return;
      const round: RebalancedWorker[] = workers.map((handle, i) => ({ slot: handle.slot, pid: handle.pid, busy: busy[i] ?? 0, asked: shed[i] ?? 0 }));
      // The clients asked to reconnect that the kernel gives back to a worker that shed are passed on to those
      // that should take them, for one interval.
      const wants = new Map<WorkerHandle, number>();
      for (const [i, handle] of workers.entries()) if ((take[i] ?? 0) > 0) wants.set(handle, take[i] ?? 0);
      supervisor.handovers.steer(wants, supervisor.io.now(), REBALANCE_INTERVAL);
      for (const [i, handle] of workers.entries()) {
        const limit = shed[i] ?? 0;
        if (limit > 0) handle.send({ cmd: 'qilin:recycle', limit, passMs: REBALANCE_INTERVAL });
      }
      supervisor.host.emit('rebalance', { workers: round });
    } finally {
      this.#counting = false;
    }
  }

  /**
   * The workers serving, in slot order, while the cluster is steady: every worker is ready, runs the runtime
   * and can take connections, and no reload's canary is serving. Otherwise null: a starting, retiring or
   * replaced worker moves connections already, and a canary's window is judged on the traffic it gets.
   */
  #steady(): WorkerHandle[] | null {
    const supervisor = this.#supervisor;
    const workers: WorkerHandle[] = [];
    for (const handle of supervisor.handles.values()) {
      if (handle.state !== 'ready' || !handle.hasRuntime || handle.outOfDescriptors !== null) return null;
      const slot = supervisor.slot(handle.slot);
      if (!slot || slot.canary || slot.active !== handle) return null;
      workers.push(handle);
    }
    return workers.sort((a, b) => a.slot - b.slot);
  }
}

/** The same workers, in the same order. */
function sameWorkers(a: readonly WorkerHandle[] | null, b: readonly WorkerHandle[]): boolean {
  return a !== null && a.length === b.length && a.every((handle, i) => handle === b[i]);
}
