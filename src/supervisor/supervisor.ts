// The worker lifecycle of one cluster: slots and their workers, every change of state through the transition table, one reconcile step per slot.
import type { Worker } from 'node:cluster';
import { type FailedStart, type SlotGeneration, StartError, type StartFailure, describeFailedStart } from '../errors.js';
import type { ReadyDetail, ReplaceReason } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { RetireReason } from '../protocol.js';
import { type BackoffPolicy, healthyAfter, livePolicy } from './backoff.js';
import { BatchFailure, BatchStart } from './batch.js';
import type { Cause, SupervisorCore } from './core.js';
import { PROCESS_IO, type SupervisorHost, type SupervisorIO } from './host.js';
import { Handovers } from './handover.js';
import { isStopping } from './lifecycle.js';
import { Monitor, heartbeatInterval } from './monitor.js';
import { reconcileSlot } from './reconcile.js';
import { type ReplaceHost, replaceWorker } from './replace.js';
import { type RolloutHost, rollout as rolloutBatch } from './rollout.js';
import { SlotCover } from './cover.js';
import { ClusterRelay } from './relay-sink.js';
import { SOCKETS, type SocketTable } from '../sockets/table.js';
import { Slot, retireSlot } from './slot.js';
import { retireWithin, stopWorker } from './stopping.js';
import { crashDeadline } from './timing.js';
import { allExited, spawnInto } from './spawn.js';
import { WorkerEvents } from './worker-events.js';
import type { WorkerHandle } from './worker-handle.js';
import { type WorkerInfo, describeWorkers } from './worker-info.js';

export class Supervisor implements SupervisorCore, RolloutHost, ReplaceHost {
  readonly #slots: Slot[] = [];
  /** Every worker of this cluster that has not exited, starting and retiring ones included. */
  readonly handles = new Map<Worker, WorkerHandle>();
  readonly handovers = new Handovers();
  readonly relay: ClusterRelay = new ClusterRelay(this);
  readonly cover: SlotCover = new SlotCover(this);
  readonly host: SupervisorHost;
  readonly io: SupervisorIO;
  readonly sockets: SocketTable;
  /** The settings of the generation serving: respawns and new slots get them; a reload's workers get its own until it commits them. */
  #options: ResolvedOptions;
  /** The slots' backoff policy, read from the settings serving at each delay. */
  readonly #backoff: BackoffPolicy;
  /** The generation of the last successful start or reload: the label of respawned workers. */
  #serving = 0;
  /** Batches of `run()` and `scale()`, watched until their workers are ready. */
  readonly #starting = new Set<BatchStart<WorkerHandle>>();
  readonly #events: WorkerEvents;
  readonly #monitor: Monitor;

  constructor(host: SupervisorHost) {
    this.host = host;
    this.#options = host.options;
    this.#backoff = livePolicy(() => this.#options);
    this.io = host.io ?? PROCESS_IO;
    this.sockets = this.io.sockets ?? SOCKETS;
    this.#events = new WorkerEvents(this);
    this.#monitor = new Monitor(this);
  }

  get options(): ResolvedOptions {
    return this.#options;
  }

  get serving(): number {
    return this.#serving;
  }

  get slotCount(): number {
    return this.#slots.length;
  }

  slot(index: number): Slot | undefined {
    return this.#slots[index];
  }

  // --- what the cluster asks --------------------------------------------------------------------

  /** Grows or shrinks to `count` slots: new slots get workers (resolves once they are ready, rejects with a StartError at the first failure), the highest slots' workers retire gracefully. */
  async scaleTo(count: number): Promise<void> {
    const removed: Promise<void>[] = [];
    while (this.#slots.length > count) removed.push(this.#removeSlot());
    const added: Slot[] = [];
    while (this.#slots.length < count) {
      const slot = new Slot(this.#slots.length, this.#backoff);
      this.#slots.push(slot);
      added.push(slot);
    }
    await Promise.all([...removed, this.#startSlots(added)]);
  }

  /** Adds slots with no worker up to `count`, for a reload that brings more workers to fill (`rollout`). */
  addSlots(count: number): void {
    while (this.#slots.length < count) this.#slots.push(new Slot(this.#slots.length, this.#backoff));
  }

  /** A reload's batch in the slots `indexes`, held until every one is ready (see rollout.ts). */
  rollout(indexes: readonly number[], generation: number, signal: AbortSignal, options = this.#options): Promise<FailedStart | null> {
    return rolloutBatch(this, indexes, generation, signal, options);
  }

  /** A reload succeeded: respawns and new slots from now on run its generation, with its settings. */
  commit(generation: number, options = this.#options): void {
    this.#serving = generation;
    this.#options = options;
  }

  /** Retires every worker gracefully; resolves when all have exited. */
  shutdown(): Promise<void> {
    // No new connection is accepted for a cluster that drains (round-robin); what is relayed already is served.
    this.relay.leave();
    this.cover.leave();
    this.handovers.closeAll();
    const handles = [...this.handles.values()];
    // One still starting that has not listened serves nothing: it is stopped at once, not drained (which would
    // race its runtime's first messages on a channel being closed).
    for (const handle of handles) this.retire(handle, 'shutdown', handle.state !== 'starting' || handle.listened);
    return allExited(handles);
  }

  /** Resolves when every worker there is now has exited. */
  exited(): Promise<void> {
    return allExited([...this.handles.values()]);
  }

  /** SIGKILLs every worker now; resolves when all have exited. */
  killAll(): Promise<void> {
    this.relay.leave();
    this.cover.leave();
    this.handovers.closeAll();
    const handles = [...this.handles.values()];
    for (const handle of handles) handle.signal('SIGKILL');
    return allExited(handles);
  }

  /** Stops managing: timers end, but those of workers being stopped, so they are still stopped at their deadline. */
  halt(): void {
    for (const handle of this.handles.values()) if (!isStopping(handle.state)) handle.endTimers();
    // The workers still running keep their copies of the sockets; the primary's go with the cluster.
    this.relay.leave();
    this.cover.leave();
    this.sockets.release(this);
  }

  /** Ends respawns, the monitor and the first-start waits. */
  cancel(reason: Error): void {
    for (const slot of this.#slots) slot.cancelRespawn();
    this.#monitor.stop();
    for (const waiter of this.#starting) waiter.cancel(reason);
  }

  startMonitor(): void {
    this.#monitor.start();
  }

  watchMemory(handle: WorkerHandle): void {
    this.#monitor.watchMemory(handle);
  }

  /** The serving worker of slot `index`, or null. */
  activeIn(index: number): WorkerHandle | null {
    const active = this.#slots[index]?.active;
    return active?.state === 'ready' ? active : null;
  }

  /** The serving workers of the slots that stay, a reload's canary left out (for the slot sockets' cover). */
  staying(): WorkerHandle[] {
    const staying: WorkerHandle[] = [];
    for (const slot of this.#slots) {
      const active = slot.canary ? null : this.activeIn(slot.index);
      if (active) staying.push(active);
    }
    return staying;
  }

  /** The worker serving each slot and not being replaced (recluster's active workers), or null. */
  activeWorkers(): (Worker | null)[] {
    return this.#slots.map((_, index) => this.activeIn(index)?.worker ?? null);
  }

  slotGenerations(): SlotGeneration[] {
    return this.#slots.map((slot) => ({ slot: slot.index, generation: slot.active?.generation ?? null }));
  }

  describe(): WorkerInfo[] {
    return describeWorkers([...this.handles.values()], (index) => this.#slots[index], this.io.now(), heartbeatInterval(this.options));
  }

  failedStart(handle: WorkerHandle, failure: StartFailure): FailedStart {
    return { slot: handle.slot, generation: handle.generation, pid: handle.pid, failure, stderr: handle.stderr.lines() };
  }

  // --- transitions --------------------------------------------------------------------------------

  /** A starting worker is ready per `readyWhen`: it takes its slot, or, held by a reload, tells the reload. */
  markReady(handle: WorkerHandle, detail: ReadyDetail): void {
    if (handle.state !== 'starting') return;
    const batch = handle.batch;
    handle.apply(batch?.holds ? 'hold' : 'ready');
    handle.readyAt = Date.now();
    handle.lastHeartbeat = this.io.now();
    if (batch?.holds) batch.waiter.ready(handle);
    else this.takeSlot(handle);
    if (batch && !batch.holds) batch.waiter.ready(handle);
    this.host.emit('ready', handle.worker, detail);
  }

  /**
   * Stops a worker. Graceful: the runtime drains it (or, without the runtime, node:cluster disconnects it),
   * SIGTERM at `within` ms (`timeout` unless given), SIGKILL `killTimeout` later. Not graceful: SIGTERM now, then SIGKILL.
   */
  retire(handle: WorkerHandle, reason: RetireReason, graceful: boolean, within = handle.options.timeout): void {
    if (isStopping(handle.state)) return;
    this.#slots[handle.slot]?.release(handle);
    handle.batch = null;
    handle.apply('retire');
    // Unless the whole cluster stops, other workers stay to serve; when it stops, a new primary's may (an upgrade).
    stopWorker(handle, reason, graceful, within, handle.options, reason !== 'shutdown' || this.handovers.forwarding);
  }

  /**
   * A starting worker exited, missed `readyTimeout`, could not listen, or crashed (then it drains itself, like
   * any crashed worker: a reload's new worker already gets connections once it listens). A reload that held it
   * is told; otherwise its slot is refilled.
   */
  startFailed(handle: WorkerHandle, failure: StartFailure): void {
    const slot = this.#slots[handle.slot];
    if (slot?.next === handle) slot.next = null;
    const batch = handle.batch;
    handle.batch = null;
    if (failure.kind === 'crash') this.leave(handle, crashDeadline(handle.options.timeout));
    else if (handle.alive) this.retire(handle, 'replace', false);
    batch?.waiter.fail(handle, failure);
    if (batch?.holds) return;
    if (slot) this.reconcile(slot, { kind: 'lost', previous: handle, why: describeFailedStart(this.failedStart(handle, failure)) });
  }

  /** A serving worker must be replaced (see replace.ts). */
  replace(handle: WorkerHandle, reason: ReplaceReason): void {
    replaceWorker(this, handle, reason);
  }

  /** Whether a worker's heartbeat is overdue. */
  silent(handle: WorkerHandle): boolean {
    return this.#monitor.silent(handle);
  }

  /** A worker that was not held (or whose reload let it go) takes its slot; the worker it replaces retires. */
  takeSlot(handle: WorkerHandle): void {
    handle.apply('promote');
    handle.batch = null;
    const slot = this.#slots[handle.slot];
    if (!slot || slot.removed || !this.host.running) {
      this.retire(handle, 'scale', true);
      return;
    }
    if (slot.next === handle) slot.next = null;
    const previous = slot.active;
    slot.active = handle;
    handle.after(healthyAfter(this.options), () => slot.active === handle && slot.backoff.reset(), true);
    if (previous && previous !== handle) {
      // A hung worker is killed; one whose heartbeats came back meanwhile is drained like any other.
      const graceful = previous.replacing !== 'unresponsive' || !this.#monitor.silent(previous);
      this.retire(previous, previous.replacing ? 'replace' : 'reload', graceful, retireWithin(previous, previous.options, this.io.now()));
    }
    this.canTake();
  }

  /** A worker has become able to take connections: those waiting for one in the primary go to it. */
  canTake(): void {
    this.handovers.flush(this.handles.values());
    this.relay.flush();
  }

  /**
   * A worker that stopped accepting by itself drains itself: SIGTERM only if it has not exited within
   * `termAfter` ms (`timeout` after its own disconnect, as recluster's kill timeout; the crash deadline after
   * an uncaught exception, when its runtime has already ended what was left and exited).
   */
  leave(handle: WorkerHandle, termAfter: number): void {
    if (handle.apply('leave') === null) return;
    handle.after(termAfter, () => handle.terminate(handle.options.killTimeout));
  }

  /** The one place a slot gets a new worker (see reconcile.ts). */
  reconcile(slot: Slot, cause: Cause): void {
    reconcileSlot(this.host, slot, cause, () => {
      if (this.host.running && !slot.removed && !slot.next) this.spawn(slot, this.#serving, null, this.#options);
    });
  }

  // --- slots and forks ----------------------------------------------------------------------------

  /** Forks a worker for each slot; resolves when all are ready, rejects with a StartError at the first failure (respawns go on). */
  async #startSlots(slots: readonly Slot[]): Promise<void> {
    const waiter = new BatchStart<WorkerHandle>();
    this.#starting.add(waiter);
    for (const slot of slots) this.spawn(slot, this.#serving, { waiter, holds: false }, this.#options);
    waiter.seal();
    try {
      await waiter.promise;
    } catch (error) {
      if (error instanceof BatchFailure) throw new StartError(this.failedStart(error.handle as WorkerHandle, error.failure));
      throw error;
    } finally {
      this.#starting.delete(waiter);
      for (const handle of waiter.handles) if (handle.batch?.waiter === waiter) handle.batch = null;
    }
  }

  /** Removes the highest slot and retires its workers gracefully; resolves when they have exited. */
  #removeSlot(): Promise<void> {
    const slot = this.#slots.pop();
    if (!slot) return Promise.resolve();
    return retireSlot(slot, (handle, graceful) => this.retire(handle, 'scale', graceful));
  }

  /** Forks a worker for `slot` and makes it the slot's next worker; null if the fork itself failed (reported as an error). */
  spawn(slot: Slot, generation: number, batch: WorkerHandle['batch'], options: ResolvedOptions): WorkerHandle | null {
    return spawnInto(this, this.#events, slot, generation, batch, options);
  }
}
