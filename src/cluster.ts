// The cluster: slots of workers, their readiness, respawns, replacements, reloads and shutdown, driven by node:cluster.
import nodeCluster, { type Address, type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'eventemitter3';
import { SlotBackoff, healthyAfter } from './backoff.js';
import {
  type FailedStart,
  InvalidOptionError,
  QilinError,
  ReloadError,
  type SlotGeneration,
  StartError,
  type StartFailure,
  describeFailedStart,
} from './errors.js';
import type { ClusterEvents, ReadyDetail, ReloadResult, ReplaceReason } from './events.js';
import { forkWorker } from './fork.js';
import type { ResolvedOptions } from './options.js';
import { ENV, type InternalMessage, type RetireReason, isCommand, isInternalMessage } from './protocol.js';
import { BatchFailure, BatchStart } from './reload/batch-start.js';
import { reloadBatches } from './reload/batches.js';
import { ReloadQueue } from './reload/queue.js';
import { formatDuration, formatSize } from './units.js';
import { WorkerHandle, type WorkerState } from './worker-handle.js';

/** With `readyWhen: 'started'`, how long a worker must stay up after `online` to count as started. */
export const STARTED_WINDOW = 1_000;

/** A snapshot of one worker, for status pages and the admin interface. */
export interface WorkerInfo {
  readonly slot: number;
  /** node:cluster's worker id. */
  readonly id: number;
  readonly pid: number | undefined;
  readonly generation: number;
  readonly state: WorkerState;
  /** True for the worker serving its slot (the one in `activeWorkers()`). */
  readonly active: boolean;
  readonly startedAt: number;
  readonly readyAt: number | null;
  /** Resident memory from the worker's last heartbeat, in bytes, or null without the runtime. */
  readonly rss: number | null;
  /** How many times this worker's slot has been respawned. */
  readonly restarts: number;
}

interface Slot {
  readonly index: number;
  /** The ready worker serving this slot. */
  active: WorkerHandle | null;
  /** A starting worker that will take the slot over once ready. */
  next: WorkerHandle | null;
  respawnTimer: NodeJS.Timeout | null;
  readonly backoff: SlotBackoff;
  restarts: number;
  removed: boolean;
}

type Status = 'new' | 'running' | 'stopping' | 'stopped';

/**
 * Something that runs beside the workers for the cluster's lifetime, such as the file watcher or the admin
 * server: started by `run()` (or at once, if attached to a running cluster), stopped when the cluster stops.
 */
export interface ClusterService {
  start(cluster: Cluster): void | Promise<void>;
  stop(): void | Promise<void>;
}

type Callback<T = void> = (error: Error | null, value?: T) => void;

/** Attaches a no-op handler so a promise nobody awaits never becomes an unhandled rejection; awaiting it still sees the rejection. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function callBack<T>(promise: Promise<T>, cb: unknown): Promise<T> {
  if (typeof cb === 'function') {
    promise.then(
      (value) => (cb as Callback<T>)(null, value),
      (error: unknown) => (cb as Callback<T>)(error instanceof Error ? error : new Error(String(error))),
    );
  }
  return quiet(promise);
}

const RUNTIME_PATH = fileURLToPath(new URL('./runtime.cjs', import.meta.url));

export class Cluster extends EventEmitter<ClusterEvents> {
  /** Absolute path of the worker script. */
  readonly file: string;
  readonly options: ResolvedOptions;
  #status: Status = 'new';
  #slots: Slot[] = [];
  readonly #handles = new Map<Worker, WorkerHandle>();
  /** The highest generation started so far. */
  #generation = 0;
  /** The generation of the last successful start or reload: the label of respawned workers. */
  #serving = 0;
  #batch: BatchStart | null = null;
  #lock: Promise<unknown> = Promise.resolve();
  #monitor: NodeJS.Timeout | null = null;
  #firstStart: Promise<void> | null = null;
  /** Watches the workers of `run()` and `scale()` until they are ready. */
  readonly #starting = new Set<BatchStart>();
  #shutdown: Promise<void> | null = null;
  readonly #services: ClusterService[] = [];
  readonly #reloads: ReloadQueue<ReloadResult>;

  constructor(file: string, options: ResolvedOptions) {
    super();
    this.file = file;
    this.options = options;
    this.#reloads = new ReloadQueue(() => this.#exclusive(() => this.#reloadOnce()));
  }

  /** The generation serving now: 0 after `run()`, one more after each successful reload. */
  get generation(): number {
    return this.#serving;
  }

  /** Forks one worker per slot. Resolves when every slot has a ready worker; rejects with a StartError if one fails first (the cluster keeps respawning). Calling it again returns the same promise. */
  run = (): Promise<void> => {
    if (!nodeCluster.isPrimary) return Promise.resolve();
    if (this.#firstStart) return this.#firstStart;
    if (this.options.runtime && !existsSync(RUNTIME_PATH)) {
      throw new QilinError('ERR_QILIN_NOT_RUNNING', `The worker runtime is missing at ${RUNTIME_PATH}; build the package, or pass runtime: false`);
    }
    this.#status = 'running';
    for (let i = 0; i < this.options.workers; i += 1) this.#addSlot();
    this.#firstStart = quiet(
      this.#startSlots(this.#slots).catch((error: unknown) => {
        if (error instanceof StartError) this.emit('error', error);
        throw error;
      }),
    );
    this.#startMonitor();
    for (const service of this.#services) this.#startService(service);
    return this.#firstStart;
  };

  /** Runs `service` for the cluster's lifetime: started with `run()` (or now, when running), stopped when the cluster stops. */
  attach = (service: ClusterService): void => {
    this.#services.push(service);
    if (this.#status === 'running') this.#startService(service);
  };

  /**
   * Replaces every worker with one running the code on disk now, per `strategy`. Resolves with the outcome;
   * rejects with a ReloadError when a new worker fails (the previous workers keep serving). A request made
   * while a reload runs is merged into one more reload after it. Safe as a signal listener: an argument
   * that is not a function is ignored, and a rejection nobody awaits is not an unhandled rejection.
   */
  reload = (cb?: unknown): Promise<ReloadResult> => {
    if (this.#status !== 'running') {
      return callBack(Promise.reject(this.#notRunning('reload')), cb);
    }
    return callBack(this.#reloads.request(), cb);
  };

  /** Changes the number of slots at run time: new slots get workers, the highest slots are retired gracefully. */
  scale = (workers: number): Promise<void> => {
    if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 0) {
      return quiet(Promise.reject(new InvalidOptionError('workers', 'a non-negative integer', workers)));
    }
    if (this.#status !== 'running') return quiet(Promise.reject(this.#notRunning('scale')));
    return quiet(this.#exclusive(() => this.#scale(workers)));
  };

  /** Stops managing and kills every worker at once with SIGKILL (recluster's terminate). */
  terminate = (cb?: unknown): Promise<void> => {
    const handles = [...this.#handles.values()];
    this.#halt();
    for (const handle of handles) handle.signal('SIGKILL');
    return callBack(this.#allExited(handles), cb);
  };

  /** Stops managing: no more respawns, reloads or events. Workers keep running; workers already retiring are still stopped at their deadline. */
  stop = (): void => {
    this.#halt();
  };

  /** Graceful stop: every worker stops accepting, finishes its requests within `timeout`, then gets SIGTERM and, `killTimeout` later, SIGKILL. Resolves when every worker has exited. */
  shutdown = (): Promise<void> => {
    if (this.#shutdown) return this.#shutdown;
    const handles = [...this.#handles.values()];
    if (this.#status === 'running') {
      this.#status = 'stopping';
      this.#cancelWork(new QilinError('ERR_QILIN_SHUTTING_DOWN', 'The cluster is shutting down'));
      for (const handle of handles) this.#retire(handle, 'shutdown', true);
    }
    this.#shutdown = quiet(
      this.#allExited(handles).then(() => {
        this.#halt();
      }),
    );
    return this.#shutdown;
  };

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Every worker process of this cluster that has not exited, including starting and retiring ones. */
  workers = (): Worker[] => [...this.#handles.keys()];

  /** The ready worker of each slot, indexed by slot (`WORKER_ID`); null where a slot has none. */
  activeWorkers = (): (Worker | null)[] => this.#slots.map((slot) => slot.active?.worker ?? null);

  /** A snapshot of every worker, for status reports. */
  describe = (): WorkerInfo[] =>
    [...this.#handles.values()].map((h) => {
      const slot = this.#slots[h.slot];
      return {
        slot: h.slot,
        id: h.worker.id,
        pid: h.pid,
        generation: h.generation,
        state: h.state,
        active: slot?.active === h,
        startedAt: h.forkedAt,
        readyAt: h.readyAt,
        rss: h.rss,
        restarts: slot?.restarts ?? 0,
      };
    });

  // --- slots and workers -------------------------------------------------------------------------

  #addSlot(): Slot {
    const slot: Slot = {
      index: this.#slots.length,
      active: null,
      next: null,
      respawnTimer: null,
      backoff: new SlotBackoff(this.options),
      restarts: 0,
      removed: false,
    };
    this.#slots.push(slot);
    return slot;
  }

  #heartbeatInterval(): number {
    const { runtime, heartbeatTimeout, maxMemory } = this.options;
    if (!runtime) return 0;
    if (heartbeatTimeout !== null) return Math.min(1_000, Math.max(50, Math.floor(heartbeatTimeout / 5)));
    return maxMemory !== null ? 1_000 : 0;
  }

  /** Forks a worker for each slot; resolves when all are ready, rejects with a StartError at the first failure (respawns go on). */
  async #startSlots(slots: readonly Slot[]): Promise<void> {
    const waiter = new BatchStart();
    this.#starting.add(waiter);
    for (const slot of slots) {
      const handle = this.#spawn(slot, this.#serving);
      if (handle) {
        handle.watchedBy = waiter;
        waiter.add(handle);
      }
    }
    waiter.seal();
    try {
      await waiter.promise;
    } catch (error) {
      if (error instanceof BatchFailure) throw new StartError(this.#failedStart(error.handle, error.failure));
      throw error;
    } finally {
      this.#starting.delete(waiter);
      for (const handle of waiter.handles) if (handle.watchedBy === waiter) handle.watchedBy = null;
    }
  }

  /** Forks a worker for `slot` and makes it the slot's next worker. */
  #spawn(slot: Slot, generation: number, heldBy: BatchStart | null = null): WorkerHandle | null {
    const { options } = this;
    let worker: Worker;
    try {
      worker = forkWorker({
        exec: this.file,
        args: options.args,
        execArgv: options.runtime ? ['--require', RUNTIME_PATH, ...options.execArgv] : options.execArgv,
        env: {
          ...options.env,
          [ENV.slot]: String(slot.index),
          [ENV.generation]: String(generation),
          [ENV.heartbeatInterval]: String(this.#heartbeatInterval()),
          [ENV.timeout]: String(options.timeout),
        },
        cwd: options.cwd,
        silent: options.silent,
        serialization: options.serialization,
      });
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
      return null;
    }
    const handle = new WorkerHandle(worker, slot.index, generation);
    handle.heldBy = heldBy;
    this.#handles.set(worker, handle);
    slot.next = handle;
    this.#watch(handle);
    if (options.readyTimeout !== null) {
      const limit = options.readyTimeout;
      handle.setTimer('ready', limit, () => this.#startFailed(handle, { kind: 'timeout', afterMs: limit }));
    }
    this.emit('fork', worker, slot.index, generation);
    return handle;
  }

  #watch(handle: WorkerHandle): void {
    const { worker } = handle;
    const live = (): boolean => this.#status !== 'stopped';
    worker.on('error', () => {
      // Failed sends to a closing channel land here; without a listener they would crash the primary.
    });
    worker.process.stderr?.on('data', (chunk: Buffer) => {
      handle.stderr.push(chunk.toString());
      if (!this.options.silent) process.stderr.write(chunk);
    });
    worker.on('online', () => {
      if (!live()) return;
      this.emit('online', worker);
      if (this.options.readyWhen === 'started') handle.setTimer('started', STARTED_WINDOW, () => this.#markReady(handle, undefined));
    });
    worker.on('listening', (address: Address) => {
      if (!live()) return;
      this.emit('listening', worker, address);
      if (this.options.readyWhen === 'listening') this.#markReady(handle, address);
    });
    worker.on('message', (message: unknown) => {
      if (!live()) return;
      if (isInternalMessage(message)) {
        this.#onInternalMessage(handle, message);
        return;
      }
      this.emit('message', worker, message);
      if (isCommand(message, 'ready') && this.options.readyWhen === 'ready') {
        this.#markReady(handle, message as ReadyDetail);
      } else if (isCommand(message, 'disconnect')) {
        this.#replace(handle, 'requested');
      }
    });
    worker.on('disconnect', () => {
      if (!live()) return;
      this.emit('disconnect', worker);
      this.#onDisconnect(handle);
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => this.#onExit(handle, code, signal));
  }

  #onInternalMessage(handle: WorkerHandle, message: InternalMessage): void {
    switch (message.cmd) {
      case 'qilin:hello':
        handle.hasRuntime = true;
        break;
      case 'qilin:heartbeat': {
        handle.lastHeartbeat = Date.now();
        if (typeof message.rss === 'number') handle.rss = message.rss;
        const limit = this.options.maxMemory;
        if (limit !== null && handle.rss !== null && handle.rss > limit) this.#replace(handle, 'memory');
        break;
      }
      case 'qilin:crash':
        this.#replace(handle, 'crashed');
        break;
      default:
        break;
    }
  }

  #markReady(handle: WorkerHandle, detail: ReadyDetail): void {
    if (handle.state !== 'starting') return;
    handle.state = 'ready';
    handle.readyAt = Date.now();
    handle.lastHeartbeat = handle.readyAt;
    handle.clearTimer('ready');
    handle.clearTimer('started');
    if (handle.heldBy) handle.heldBy.ready(handle);
    else this.#promote(handle);
    handle.watchedBy?.ready(handle);
    this.emit('ready', handle.worker, detail);
  }

  /** Makes a ready worker its slot's active worker and retires the one it replaces. */
  #promote(handle: WorkerHandle): void {
    handle.heldBy = null;
    const slot = this.#slots[handle.slot];
    if (!slot || slot.removed || this.#status !== 'running') {
      this.#retire(handle, 'scale', true);
      return;
    }
    if (slot.next === handle) slot.next = null;
    const previous = slot.active;
    slot.active = handle;
    handle.setTimer('healthy', healthyAfter(this.options), () => slot.active === handle && slot.backoff.reset(), true);
    if (previous && previous !== handle) this.#retire(previous, previous.replacing ? 'replace' : 'reload', previous.replacing !== 'unresponsive');
  }

  /**
   * Stops a worker. Graceful: the runtime drains it (or, without the runtime, node:cluster disconnects it),
   * SIGTERM at `timeout`, SIGKILL `killTimeout` later. Not graceful: SIGTERM now, then SIGKILL.
   */
  #retire(handle: WorkerHandle, reason: RetireReason, graceful: boolean): void {
    if (!handle.alive || handle.state === 'retiring') return;
    const slot = this.#slots[handle.slot];
    if (slot?.active === handle) slot.active = null;
    if (slot?.next === handle) slot.next = null;
    handle.heldBy = null;
    handle.state = 'retiring';
    handle.clearTimer('ready');
    handle.clearTimer('started');
    handle.clearTimer('healthy');
    const { timeout } = this.options;
    if (!graceful || timeout === 0) {
      this.#terminateProcess(handle);
      return;
    }
    if (handle.hasRuntime) {
      handle.askToRetire({ cmd: 'qilin:retire', deadline: timeout, reason });
    } else {
      handle.send({ cmd: 'disconnect' });
      handle.disconnect();
    }
    handle.setTimer('term', timeout, () => this.#terminateProcess(handle));
  }

  #terminateProcess(handle: WorkerHandle): void {
    handle.signal('SIGTERM');
    if (!handle.hasTimer('kill')) handle.setTimer('kill', this.options.killTimeout, () => handle.signal('SIGKILL'));
  }

  #failedStart(handle: WorkerHandle, failure: StartFailure): FailedStart {
    return { slot: handle.slot, generation: handle.generation, pid: handle.pid, failure, stderr: handle.stderr.lines() };
  }

  /** A starting worker exited or missed `readyTimeout`. */
  #startFailed(handle: WorkerHandle, failure: StartFailure): void {
    const slot = this.#slots[handle.slot];
    if (slot?.next === handle) slot.next = null;
    const held = handle.heldBy;
    if (handle.alive) this.#retire(handle, 'replace', false);
    if (held) {
      held.fail(handle, failure);
      return;
    }
    handle.watchedBy?.fail(handle, failure);
    if (slot) this.#refill(slot, handle, describeFailedStart(this.#failedStart(handle, failure)));
  }

  /** Schedules a new worker for a slot that lost its worker, after the slot's backoff delay. */
  #refill(slot: Slot, previous: WorkerHandle | null, why: string, immediate = false): void {
    if (this.#status !== 'running' || slot.removed || slot.next || slot.respawnTimer) return;
    const delay = immediate && slot.backoff.attempts === 0 ? (slot.backoff.next(), 0) : slot.backoff.next();
    slot.restarts += 1;
    this.emit('respawn', slot.index, delay, previous?.worker ?? null);
    this.#log('respawns', `${why}; respawning slot ${slot.index} in ${formatDuration(delay)}`);
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = null;
      if (this.#status === 'running' && !slot.removed && !slot.next) this.#spawn(slot, this.#serving);
    }, delay);
  }

  /** A running worker must be replaced: its replacement starts now, and it is retired once the replacement is ready. */
  #replace(handle: WorkerHandle, reason: ReplaceReason): void {
    const slot = this.#slots[handle.slot];
    if (this.#status !== 'running' || handle.state !== 'ready' || handle.replacing || !slot || slot.active !== handle) return;
    handle.replacing = reason;
    this.emit('replace', handle.worker, reason);
    const who = `worker ${handle.pid ?? '?'} in slot ${slot.index}`;
    const because: Record<ReplaceReason, string> = {
      requested: 'asked to be replaced',
      disconnected: 'disconnected itself',
      unresponsive: `sent no heartbeat for ${formatDuration(Date.now() - handle.lastHeartbeat)} (event loop blocked)`,
      memory: `uses ${formatSize(handle.rss ?? 0)}, above maxMemory ${formatSize(this.options.maxMemory ?? 0)}`,
      crashed: 'had an uncaught exception',
    };
    if (reason === 'crashed' || reason === 'disconnected') {
      // It has stopped accepting already: the slot is empty until the replacement is ready.
      // The worker drains itself within `timeout` and exits; SIGTERM comes only if it has not by then.
      slot.active = null;
      handle.state = 'retiring';
      handle.clearTimer('healthy');
      handle.setTimer('term', this.options.timeout + this.options.killTimeout, () => this.#terminateProcess(handle));
      this.#refill(slot, handle, `${who} ${because[reason]}`, true);
      return;
    }
    if (reason === 'unresponsive' && this.#readyCount() > 1) {
      // Stop handing it connections it cannot serve, as long as another worker can take them.
      handle.disconnect();
    }
    this.#log('respawns', `${who} ${because[reason]}; starting its replacement`);
    if (!slot.next && !slot.respawnTimer) this.#spawn(slot, this.#serving);
  }

  #readyCount(): number {
    return this.#slots.filter((slot) => slot.active).length;
  }

  #onDisconnect(handle: WorkerHandle): void {
    if (!handle.alive || handle.state === 'retiring') return;
    if (handle.state === 'ready' && handle.worker.exitedAfterDisconnect) {
      this.#replace(handle, 'disconnected');
      return;
    }
    // A dying process disconnects just before it exits; one that stays up without IPC is replaced.
    handle.setTimer('disconnected', this.options.killTimeout, () => {
      if (!handle.alive || handle.state === 'retiring') return;
      if (handle.state === 'ready') this.#replace(handle, 'disconnected');
      else this.#startFailed(handle, { kind: 'exit', code: null, signal: null });
    });
  }

  #onExit(handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    const previousState = handle.state;
    handle.markExited(code, signal);
    this.#handles.delete(handle.worker);
    if (this.#status !== 'stopped') this.emit('exit', handle.worker, code, signal);
    const slot = this.#slots[handle.slot];
    if (handle.heldBy) {
      const held = handle.heldBy;
      handle.heldBy = null;
      if (slot?.next === handle) slot.next = null;
      held.fail(handle, { kind: 'exit', code, signal });
      return;
    }
    if (previousState === 'starting') {
      this.#startFailed(handle, { kind: 'exit', code, signal });
      return;
    }
    if (slot && slot.active === handle) {
      slot.active = null;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
      // A worker that had not stayed up long enough to be healthy counts towards the backoff.
      this.#refill(slot, handle, `worker ${handle.pid ?? '?'} in slot ${slot.index} ${how}`);
    }
  }

  // --- reloads and scaling -------------------------------------------------------------------------

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  async #reloadOnce(): Promise<ReloadResult> {
    if (this.#status !== 'running') throw this.#notRunning('reload');
    const { strategy, batch } = this.options;
    const generation = ++this.#generation;
    const startedAt = Date.now();
    const indexes = this.#slots.map((slot) => slot.index);
    this.emit('reloadStart', { generation, strategy, slots: indexes.length });
    for (const batchSlots of reloadBatches(indexes, strategy, batch)) {
      const waiter = new BatchStart();
      this.#batch = waiter;
      for (const index of batchSlots) {
        const slot = this.#slots[index];
        if (!slot) continue;
        this.#clearRespawn(slot);
        // A respawn or replacement still starting runs the code being replaced: the reload supersedes it.
        if (slot.next) this.#retire(slot.next, 'reload', slot.next.state === 'ready');
        const handle = this.#spawn(slot, generation, waiter);
        if (handle) waiter.add(handle);
        else waiter.cancel(new QilinError('ERR_QILIN_RELOAD_FAILED', `Could not fork a worker for slot ${index}`));
      }
      waiter.seal();
      try {
        await waiter.promise;
      } catch (error) {
        this.#batch = null;
        for (const handle of waiter.handles) this.#retire(handle, 'reload', handle.state === 'ready');
        for (const slot of this.#slots) if (!slot.active) this.#refill(slot, null, `slot ${slot.index} has no worker after the failed reload`);
        if (!(error instanceof BatchFailure)) throw error;
        const failure = new ReloadError(generation, this.#failedStart(error.handle, error.failure), this.#slotGenerations());
        this.#log('reloads', failure.message);
        this.emit('reloadFailed', failure);
        throw failure;
      }
      for (const handle of waiter.handles) this.#promote(handle);
    }
    this.#batch = null;
    this.#serving = generation;
    const result: ReloadResult = { generation, strategy, durationMs: Date.now() - startedAt, slots: this.#slotGenerations() };
    this.emit('reloadEnd', result);
    return result;
  }

  async #scale(workers: number): Promise<void> {
    if (this.#status !== 'running') throw this.#notRunning('scale');
    const exits: Promise<void>[] = [];
    while (this.#slots.length > workers) {
      const slot = this.#slots.pop() as Slot;
      slot.removed = true;
      this.#clearRespawn(slot);
      for (const handle of [slot.active, slot.next]) {
        if (!handle) continue;
        exits.push(handle.exited);
        this.#retire(handle, 'scale', handle.state === 'ready');
      }
    }
    const added: Slot[] = [];
    while (this.#slots.length < workers) added.push(this.#addSlot());
    await Promise.all([...exits, this.#startSlots(added)]);
  }

  #slotGenerations(): SlotGeneration[] {
    return this.#slots.map((slot) => ({ slot: slot.index, generation: slot.active?.generation ?? null }));
  }

  // --- lifecycle helpers ---------------------------------------------------------------------------

  #startMonitor(): void {
    const { heartbeatTimeout } = this.options;
    if (heartbeatTimeout === null) return;
    this.#monitor = setInterval(() => {
      const now = Date.now();
      for (const handle of this.#handles.values()) {
        if (handle.hasRuntime && handle.state === 'ready' && now - handle.lastHeartbeat > heartbeatTimeout) {
          this.#replace(handle, 'unresponsive');
        }
      }
    }, Math.min(1_000, Math.max(50, Math.floor(heartbeatTimeout / 4))));
    this.#monitor.unref();
  }

  #clearRespawn(slot: Slot): void {
    if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
    slot.respawnTimer = null;
  }

  /** Ends respawns, the heartbeat check and pending reloads. */
  #cancelWork(reason: Error): void {
    for (const slot of this.#slots) this.#clearRespawn(slot);
    if (this.#monitor) clearInterval(this.#monitor);
    this.#monitor = null;
    this.#reloads.cancelQueued(reason);
    this.#batch?.cancel(reason);
    this.#batch = null;
    for (const waiter of this.#starting) waiter.cancel(reason);
  }

  /** Stops managing. Timers of workers already retiring stay, so they are still stopped at their deadline. */
  #halt(): void {
    if (this.#status === 'stopped') return;
    this.#cancelWork(new QilinError('ERR_QILIN_SHUTTING_DOWN', 'The cluster was stopped'));
    this.#status = 'stopped';
    this.#stopServices();
    for (const handle of this.#handles.values()) {
      if (handle.state !== 'retiring') handle.clearTimers();
    }
  }

  #startService(service: ClusterService): void {
    try {
      Promise.resolve(service.start(this)).catch((error: unknown) => this.emit('error', error instanceof Error ? error : new Error(String(error))));
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  #stopServices(): void {
    for (const service of this.#services.splice(0)) {
      try {
        Promise.resolve(service.stop()).catch(() => {});
      } catch {
        // A service that fails to stop must not keep the cluster from stopping.
      }
    }
  }

  #allExited(handles: readonly WorkerHandle[]): Promise<void> {
    return Promise.all(handles.map((handle) => handle.exited)).then(() => {});
  }

  #notRunning(action: string): QilinError {
    if (this.#status === 'new') return new QilinError('ERR_QILIN_NOT_RUNNING', `Cannot ${action}: call run() first`);
    return new QilinError('ERR_QILIN_SHUTTING_DOWN', `Cannot ${action}: the cluster is ${this.#status}`);
  }

  #log(category: 'respawns' | 'reloads', line: string): void {
    if (this.options.log[category]) this.options.logger.log(`qilin: ${line}`);
  }
}
