// The worker state machine of one cluster: slots and their workers' readiness, promotion, retirement, respawns and replacements.
import type { Address, Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { SlotBackoff, healthyAfter } from './backoff.js';
import { type FailedStart, type SlotGeneration, StartError, type StartFailure, describeFailedStart, describeListenFailure } from './errors.js';
import type { ClusterEvents, ReadyDetail, ReplaceReason } from './events.js';
import { type Balance, forkWorker } from './fork.js';
import type { ResolvedOptions } from './options.js';
import { type CrashMessage, ENV, type InternalMessage, type RetireReason, isCommand, isInternalMessage } from './protocol.js';
import { HandoffWatch } from './handoffs.js';
import { BatchFailure, BatchStart } from './reload/batch-start.js';
import { describeCut, describeDescriptors, describeHandoffsLost, describeSlowStart } from './notices.js';
import { copyToStderr } from './output.js';
import { formatDuration, formatSize } from './units.js';
import { WorkerHandle } from './worker-handle.js';

/** With `readyWhen: 'started'`, how long a worker must stay up after `online` to count as started. */
export const STARTED_WINDOW = 1_000;

/** Lost handoffs of one worker are logged at most this often, in ms. */
const LOST_HANDOFF_LOG_EVERY = 10_000;

/** How long after its fork a worker that is not ready yet is logged as slow to start, with a hint. */
export const SLOW_START_NOTICE = 5_000;

/** A round-robin handoff unacknowledged this long is checked: the worker may be out of file descriptors. */
export const STUCK_HANDOFF = 1_000;

/** The longest time between two heartbeats of a worker, in ms. */
const MAX_HEARTBEAT_INTERVAL = 10_000;

/** The worker runtime, preloaded into every worker with --require. */
export const RUNTIME_PATH = fileURLToPath(new URL('./runtime.cjs', import.meta.url));

/** How long before SIGTERM (at `timeout`) a retiring worker's own drain deadline comes: a tenth of `timeout`, at most 1 s. */
export function signalMargin(timeout: number): number {
  return Math.min(1_000, Math.ceil(timeout / 10));
}

/** The exception a worker reported, as `Name: message`; its fields come from another process, so they are checked. */
function crashText(message: CrashMessage): string {
  const { error } = message;
  return error && typeof error.message === 'string' ? `${String(error.name)}: ${error.message}` : 'unknown error';
}


export interface Slot {
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

/** What the supervisor needs from the cluster that owns it. */
export interface SupervisorHost {
  readonly file: string;
  readonly options: ResolvedOptions;
  /** True between `run()` and a stop or shutdown: respawns and replacements happen only then. */
  readonly running: boolean;
  /** False once the cluster was stopped: worker events are no longer passed on. */
  readonly emitting: boolean;
  /** How connections reach the workers, as in force once the cluster runs. */
  readonly balance: Balance;
  emit<E extends keyof ClusterEvents>(event: E, ...args: ClusterEvents[E]): void;
  log(category: keyof ResolvedOptions['log'], line: string): void;
}

export class Supervisor {
  readonly slots: Slot[] = [];
  readonly handles = new Map<Worker, WorkerHandle>();
  /** The generation of the last successful start or reload: the label of respawned workers. */
  serving = 0;
  readonly #host: SupervisorHost;
  readonly #options: ResolvedOptions;
  #monitor: NodeJS.Timeout | null = null;
  #handoffCheck: NodeJS.Timeout | null = null;
  /** Watches the workers of `run()` and `scale()` until they are ready. */
  readonly #starting = new Set<BatchStart>();

  constructor(host: SupervisorHost) {
    this.#host = host;
    this.#options = host.options;
  }

  addSlot(): Slot {
    const slot: Slot = {
      index: this.slots.length,
      active: null,
      next: null,
      respawnTimer: null,
      backoff: new SlotBackoff(this.#options),
      restarts: 0,
      removed: false,
    };
    this.slots.push(slot);
    return slot;
  }

  /** Removes the highest slot and retires its workers gracefully; resolves when they have exited. */
  removeSlot(): Promise<void> {
    const slot = this.slots.pop();
    if (!slot) return Promise.resolve();
    slot.removed = true;
    this.clearRespawn(slot);
    const exits: Promise<void>[] = [];
    for (const handle of [slot.active, slot.next]) {
      if (!handle) continue;
      exits.push(handle.exited);
      this.retire(handle, 'scale', handle.state === 'ready');
    }
    return Promise.all(exits).then(() => {});
  }

  /** Forks a worker for each slot; resolves when all are ready, rejects with a StartError at the first failure (respawns go on). */
  async startSlots(slots: readonly Slot[]): Promise<void> {
    const waiter = new BatchStart();
    this.#starting.add(waiter);
    for (const slot of slots) {
      const handle = this.spawn(slot, this.serving);
      if (handle) {
        handle.watchedBy = waiter;
        waiter.add(handle);
      }
    }
    waiter.seal();
    try {
      await waiter.promise;
    } catch (error) {
      if (error instanceof BatchFailure) throw new StartError(this.failedStart(error.handle, error.failure));
      throw error;
    } finally {
      this.#starting.delete(waiter);
      for (const handle of waiter.handles) if (handle.watchedBy === waiter) handle.watchedBy = null;
    }
  }

  /** Forks a worker for `slot` and makes it the slot's next worker. A reload passes `heldBy` to decide when it takes over. */
  spawn(slot: Slot, generation: number, heldBy: BatchStart | null = null): WorkerHandle | null {
    const options = this.#options;
    let worker: Worker;
    try {
      worker = forkWorker({
        exec: this.#host.file,
        args: options.args,
        execArgv: options.runtime ? ['--require', RUNTIME_PATH, ...options.execArgv] : options.execArgv,
        env: {
          ...options.env,
          [ENV.slot]: String(slot.index),
          [ENV.generation]: String(generation),
          [ENV.heartbeatInterval]: String(this.#heartbeatInterval()),
          [ENV.maxMemory]: String(options.runtime ? (options.maxMemory ?? 0) : 0),
          [ENV.timeout]: String(options.timeout),
        },
        cwd: options.cwd,
        silent: options.silent,
        serialization: options.serialization,
      });
    } catch (error) {
      this.#host.emit('error', error instanceof Error ? error : new Error(String(error)));
      return null;
    }
    const handle = new WorkerHandle(worker, slot.index, generation);
    handle.heldBy = heldBy;
    if (this.#host.balance === 'round-robin' && options.runtime) {
      handle.handoffs = new HandoffWatch(worker, (id) => handle.send({ cmd: 'qilin:ping', id }));
    }
    this.handles.set(worker, handle);
    slot.next = handle;
    this.#watch(handle);
    if (options.readyTimeout !== null) {
      const limit = options.readyTimeout;
      handle.setTimer('ready', limit, () => this.#startFailed(handle, { kind: 'timeout', afterMs: limit }));
    }
    if (options.readyTimeout === null || options.readyTimeout > SLOW_START_NOTICE * 1.5) {
      handle.setTimer('slow', SLOW_START_NOTICE, () => this.#slowStart(handle));
    }
    this.#host.emit('fork', worker, slot.index, generation);
    return handle;
  }

  /** Makes a ready worker its slot's active worker and retires the one it replaces. */
  promote(handle: WorkerHandle): void {
    handle.heldBy = null;
    const slot = this.slots[handle.slot];
    if (!slot || slot.removed || !this.#host.running) {
      this.retire(handle, 'scale', true);
      return;
    }
    if (slot.next === handle) slot.next = null;
    const previous = slot.active;
    slot.active = handle;
    handle.setTimer('healthy', healthyAfter(this.#options), () => slot.active === handle && slot.backoff.reset(), true);
    if (previous && previous !== handle) {
      // A hung worker is killed; one whose heartbeats came back meanwhile is drained like any other.
      const graceful = previous.replacing !== 'unresponsive' || !this.#silent(previous);
      this.retire(previous, previous.replacing ? 'replace' : 'reload', graceful);
    }
  }

  /**
   * Stops a worker. Graceful: the runtime drains it (or, without the runtime, node:cluster disconnects it),
   * SIGTERM at `timeout`, SIGKILL `killTimeout` later. Not graceful: SIGTERM now, then SIGKILL.
   */
  retire(handle: WorkerHandle, reason: RetireReason, graceful: boolean): void {
    if (!handle.alive || handle.state === 'retiring') return;
    const slot = this.slots[handle.slot];
    if (slot?.active === handle) slot.active = null;
    if (slot?.next === handle) slot.next = null;
    handle.heldBy = null;
    handle.state = 'retiring';
    handle.clearTimer('ready');
    handle.clearTimer('started');
    handle.clearTimer('slow');
    handle.clearTimer('healthy');
    const { timeout } = this.#options;
    if (!graceful || timeout === 0) {
      this.#terminateProcess(handle);
      return;
    }
    if (handle.hasRuntime) {
      // SIGTERM comes at `timeout`, as recluster's kill timeout did. The runtime's own deadline comes a margin
      // before it: there it destroys what is left and aborts the shutdown hooks' signal, and the margin lets
      // hooks react to the abort before SIGTERM ends the process.
      handle.askToRetire({ cmd: 'qilin:retire', deadline: timeout - signalMargin(timeout), reason });
      handle.setTimer('term', timeout, () => this.#terminateProcess(handle));
    } else {
      handle.send({ cmd: 'disconnect', reason });
      handle.disconnect();
      handle.setTimer('term', timeout, () => this.#terminateProcess(handle));
    }
  }

  /** Schedules a new worker for a slot that lost its worker, after the slot's backoff delay (none, if `immediate` and the slot was healthy). */
  refill(slot: Slot, previous: WorkerHandle | null, why: string, immediate = false): void {
    if (!this.#host.running || slot.removed || slot.next || slot.respawnTimer) return;
    const delay = immediate && slot.backoff.attempts === 0 ? (slot.backoff.next(), 0) : slot.backoff.next();
    slot.restarts += 1;
    this.#host.emit('respawn', slot.index, delay, previous?.worker ?? null);
    this.#host.log('respawns', `${why}; respawning slot ${slot.index} in ${formatDuration(delay)}`);
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = null;
      if (this.#host.running && !slot.removed && !slot.next) this.spawn(slot, this.serving);
    }, delay);
  }

  /**
   * After a failed reload: a slot left without a worker gets one, and a worker that was to be replaced (hung,
   * over maxMemory, asked) gets the replacement the reload superseded, running the code that serves now.
   */
  restoreSlots(): void {
    for (const slot of this.slots) {
      if (!slot.active) this.refill(slot, null, `slot ${slot.index} has no worker after the failed reload`);
      else if (slot.active.replacing && !slot.next && !slot.respawnTimer && this.#host.running) this.spawn(slot, this.serving);
    }
  }

  clearRespawn(slot: Slot): void {
    if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
    slot.respawnTimer = null;
  }

  failedStart(handle: WorkerHandle, failure: StartFailure): FailedStart {
    return { slot: handle.slot, generation: handle.generation, pid: handle.pid, failure, stderr: handle.stderr.lines() };
  }

  slotGenerations(): SlotGeneration[] {
    return this.slots.map((slot) => ({ slot: slot.index, generation: slot.active?.generation ?? null }));
  }

  /** Checks heartbeats, and round-robin handoffs, while the cluster runs. */
  startMonitor(): void {
    if (this.#host.balance === 'round-robin' && this.#options.runtime) {
      this.#handoffCheck = setInterval(() => {
        for (const handle of this.handles.values()) handle.handoffs?.check(STUCK_HANDOFF);
      }, STUCK_HANDOFF / 4);
      this.#handoffCheck.unref();
    }
    if (this.#options.heartbeatTimeout === null) return;
    const every = Math.min(1_000, Math.max(50, Math.floor(this.#options.heartbeatTimeout / 4)));
    let lastCheck = performance.now();
    this.#monitor = setInterval(() => {
      const now = performance.now();
      const late = now - lastCheck - every;
      lastCheck = now;
      if (late > every) {
        // The primary itself was not running (the machine or container was suspended, or its own event loop
        // was blocked): the heartbeats sent meanwhile are still unread, so silence proves nothing. Start over.
        for (const handle of this.handles.values()) handle.lastHeartbeat = now;
        return;
      }
      for (const handle of this.handles.values()) {
        if (handle.hasRuntime && handle.state === 'ready' && this.#silent(handle, now)) this.#replace(handle, 'unresponsive');
      }
    }, every);
    this.#monitor.unref();
  }

  /**
   * Whether a worker's heartbeat is overdue. The next heartbeat is due `interval` after the last one: only the
   * time past that counts as blocked, so a worker is replaced once its event loop has been stuck for at least
   * heartbeatTimeout.
   */
  #silent(handle: WorkerHandle, now = performance.now()): boolean {
    const { heartbeatTimeout } = this.#options;
    return heartbeatTimeout !== null && now - handle.lastHeartbeat > heartbeatTimeout + this.#heartbeatInterval();
  }

  /** Ends respawns, the heartbeat check and the first-start waits. */
  cancel(reason: Error): void {
    for (const slot of this.slots) this.clearRespawn(slot);
    if (this.#monitor) clearInterval(this.#monitor);
    this.#monitor = null;
    if (this.#handoffCheck) clearInterval(this.#handoffCheck);
    this.#handoffCheck = null;
    for (const waiter of this.#starting) waiter.cancel(reason);
  }

  // --- worker events -----------------------------------------------------------------------------

  /**
   * Three heartbeats per `heartbeatTimeout`, at most one every 10 s. Each is an IPC message, and under load a
   * worker that sends one a second spends measurably more CPU per request (docs/runtime.md, Costs).
   */
  #heartbeatInterval(): number {
    const { runtime, heartbeatTimeout } = this.#options;
    if (!runtime || heartbeatTimeout === null) return 0;
    return Math.min(MAX_HEARTBEAT_INTERVAL, Math.max(50, Math.floor(heartbeatTimeout / 3)));
  }

  #watch(handle: WorkerHandle): void {
    const { worker } = handle;
    const host = this.#host;
    worker.on('error', () => {
      // Failed sends to a closing channel land here; without a listener they would crash the primary.
    });
    const { stderr } = worker.process;
    stderr?.on('data', (chunk: Buffer) => {
      handle.stderr.push(chunk.toString());
      if (!this.#options.silent) copyToStderr(chunk, stderr);
    });
    worker.on('online', () => {
      if (!host.emitting) return;
      host.emit('online', worker);
      if (this.#options.readyWhen === 'started') handle.setTimer('started', STARTED_WINDOW, () => this.#markReady(handle, undefined));
    });
    worker.on('listening', (address: Address) => {
      handle.listened = true;
      if (!host.emitting) return;
      host.emit('listening', worker, address);
      if (this.#options.readyWhen === 'listening') this.#markReady(handle, address);
    });
    worker.on('message', (message: unknown) => {
      if (!host.emitting) return;
      if (isInternalMessage(message)) {
        this.#onInternalMessage(handle, message);
        return;
      }
      host.emit('message', worker, message);
      if (isCommand(message, 'ready') && this.#options.readyWhen === 'ready') {
        this.#markReady(handle, message as ReadyDetail);
      } else if (isCommand(message, 'disconnect')) {
        this.#replace(handle, 'requested');
      }
    });
    worker.on('disconnect', () => {
      if (!host.emitting) return;
      host.emit('disconnect', worker);
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
        handle.lastHeartbeat = performance.now();
        if (typeof message.rss === 'number') handle.rss = message.rss;
        const limit = this.#options.maxMemory;
        if (limit !== null && handle.rss !== null && handle.rss > limit) this.#replace(handle, 'memory');
        break;
      }
      case 'qilin:listen-error': {
        const { error } = message;
        if (!error || typeof error.code !== 'string') break;
        const failure = { kind: 'listen', code: error.code, address: String(error.address), error: String(error.message) } as const;
        // A worker that cannot listen serves nothing: a start (or a reload's worker, even one ready by another
        // server) fails now, naming the error, rather than at readyTimeout. One already serving keeps serving.
        if (handle.state === 'starting' || handle.heldBy) this.#startFailed(handle, failure);
        else if (handle.state === 'ready') {
          this.#host.log('warnings', `worker ${handle.pid ?? '?'} in slot ${handle.slot} ${describeListenFailure(failure)}; it keeps serving on its other servers`);
        }
        break;
      }
      case 'qilin:pong': {
        const lost = typeof message.id === 'number' ? (handle.handoffs?.pong(message.id) ?? 0) : 0;
        const now = performance.now();
        if (lost === 0) break;
        const info = { slot: handle.slot, generation: handle.generation, count: lost };
        this.#host.emit('handoffsLost', handle.worker, info);
        if (now - handle.lostLoggedAt >= LOST_HANDOFF_LOG_EVERY) {
          handle.lostLoggedAt = now;
          this.#host.log('warnings', describeHandoffsLost(handle.pid, info));
        }
        break;
      }
      case 'qilin:descriptors': {
        const code = message.exhausted ? (typeof message.code === 'string' ? message.code : 'EMFILE') : null;
        if ((code === null) === (handle.outOfDescriptors === null)) break;
        handle.outOfDescriptors = code;
        const info = { slot: handle.slot, generation: handle.generation, exhausted: code !== null, code };
        this.#host.emit('descriptors', handle.worker, info);
        this.#host.log('warnings', describeDescriptors(handle.pid, info));
        break;
      }
      case 'qilin:cut': {
        const requests = Number(message.requests);
        const connections = Number(message.connections);
        if (!(connections > 0)) break;
        const info = { slot: handle.slot, generation: handle.generation, requests: requests > 0 ? requests : 0, connections, timeout: this.#options.timeout, reason: message.reason };
        this.#host.emit('cut', handle.worker, info);
        this.#host.log('warnings', describeCut(handle.pid, info));
        break;
      }
      case 'qilin:crash':
        // A new worker receives connections once it listens, before it takes over its slot (a reload holds it
        // until the whole batch is ready). One that has not listened yet exits at once and fails as an exit.
        if (handle.listened && (handle.heldBy || handle.state === 'starting')) this.#startFailed(handle, { kind: 'crash', error: crashText(message) });
        else this.#replace(handle, 'crashed');
        break;
      default:
        break;
    }
  }

  #markReady(handle: WorkerHandle, detail: ReadyDetail): void {
    if (handle.state !== 'starting') return;
    handle.state = 'ready';
    handle.readyAt = Date.now();
    handle.lastHeartbeat = performance.now();
    handle.clearTimer('ready');
    handle.clearTimer('started');
    handle.clearTimer('slow');
    if (handle.heldBy) handle.heldBy.ready(handle);
    else this.promote(handle);
    handle.watchedBy?.ready(handle);
    this.#host.emit('ready', handle.worker, detail);
  }

  #slowStart(handle: WorkerHandle): void {
    if (handle.state !== 'starting') return;
    const { readyWhen, readyTimeout } = this.#options;
    const info = { slot: handle.slot, generation: handle.generation, waitedMs: SLOW_START_NOTICE, readyWhen, listened: handle.listened, readyTimeout };
    this.#host.emit('slowStart', handle.worker, info);
    this.#host.log('warnings', describeSlowStart(handle.pid, info));
  }

  #terminateProcess(handle: WorkerHandle): void {
    handle.signal('SIGTERM');
    if (!handle.hasTimer('kill')) handle.setTimer('kill', this.#options.killTimeout, () => handle.signal('SIGKILL'));
  }

  /**
   * A starting worker exited, missed `readyTimeout`, or crashed (then it drains itself, like any crashed
   * worker: a reload's new worker already gets connections once it listens, before it takes over its slot).
   */
  #startFailed(handle: WorkerHandle, failure: StartFailure): void {
    const slot = this.slots[handle.slot];
    if (slot?.next === handle) slot.next = null;
    const held = handle.heldBy;
    handle.heldBy = null;
    if (failure.kind === 'crash') this.#leaveToDrain(handle, this.#options.timeout + this.#options.killTimeout);
    else if (handle.alive) this.retire(handle, 'replace', false);
    if (held) {
      held.fail(handle, failure);
      return;
    }
    handle.watchedBy?.fail(handle, failure);
    if (slot) this.refill(slot, handle, describeFailedStart(this.failedStart(handle, failure)));
  }

  /**
   * A worker that has stopped accepting by itself drains itself: SIGTERM only if it has not exited within
   * `termAfter` ms. One that disconnected itself gets `timeout`, as recluster's kill timeout; a crashed one,
   * whose runtime exits by itself at its own deadline, gets `killTimeout` more.
   */
  #leaveToDrain(handle: WorkerHandle, termAfter: number): void {
    handle.state = 'retiring';
    handle.clearTimer('ready');
    handle.clearTimer('started');
    handle.clearTimer('slow');
    handle.clearTimer('healthy');
    handle.setTimer('term', termAfter, () => this.#terminateProcess(handle));
  }

  /** A running worker must be replaced: its replacement starts now, and it is retired once the replacement is ready. */
  #replace(handle: WorkerHandle, reason: ReplaceReason): void {
    const slot = this.slots[handle.slot];
    if (!this.#host.running || handle.state !== 'ready' || handle.replacing || !slot || slot.active !== handle) return;
    handle.replacing = reason;
    this.#host.emit('replace', handle.worker, reason);
    const who = `worker ${handle.pid ?? '?'} in slot ${slot.index}`;
    const because: Record<ReplaceReason, string> = {
      requested: 'asked to be replaced',
      disconnected: 'disconnected itself',
      unresponsive: `sent no heartbeat for ${formatDuration(Math.round(performance.now() - handle.lastHeartbeat))} (event loop blocked)`,
      memory: `uses ${formatSize(handle.rss ?? 0)}, above maxMemory ${formatSize(this.#options.maxMemory ?? 0)}`,
      crashed: 'had an uncaught exception',
    };
    if (reason === 'crashed' || reason === 'disconnected') {
      slot.active = null;
      const { timeout, killTimeout } = this.#options;
      this.#leaveToDrain(handle, reason === 'disconnected' ? timeout : timeout + killTimeout);
      this.refill(slot, handle, `${who} ${because[reason]}`, true);
      return;
    }
    if (reason === 'unresponsive' && this.slots.some((s) => s.active && s.active !== handle && !s.active.replacing && !this.#silent(s.active))) {
      // Stop handing it connections it cannot serve, as long as a worker that answers can take them. If every
      // worker is silent at once, none is cut off: the port would have no listener at all.
      handle.disconnect();
    }
    if (slot.next || slot.respawnTimer) {
      this.#host.log('respawns', `${who} ${because[reason]}; its replacement is already starting`);
      return;
    }
    // A worker over maxMemory before it was even healthy is likely to be followed by another: replacements of
    // such workers wait the slot's backoff delay (the old worker serves meanwhile) instead of looping at once.
    const healthy = handle.readyAt !== null && Date.now() - handle.readyAt >= healthyAfter(this.#options);
    const delay = reason === 'memory' && !healthy ? slot.backoff.next() : 0;
    if (delay === 0) {
      this.#host.log('respawns', `${who} ${because[reason]}; starting its replacement`);
      this.spawn(slot, this.serving);
      return;
    }
    this.#host.log('respawns', `${who} ${because[reason]}; starting its replacement in ${formatDuration(delay)}`);
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = null;
      if (this.#host.running && !slot.removed && !slot.next) this.spawn(slot, this.serving);
    }, delay);
  }

  #onDisconnect(handle: WorkerHandle): void {
    if (!handle.alive || handle.state === 'retiring') return;
    if (handle.state === 'ready' && handle.worker.exitedAfterDisconnect) {
      this.#replace(handle, 'disconnected');
      return;
    }
    // A dying process disconnects just before it exits; one that stays up without IPC is replaced.
    handle.setTimer('disconnected', this.#options.killTimeout, () => {
      if (!handle.alive || handle.state === 'retiring') return;
      if (handle.state === 'ready') this.#replace(handle, 'disconnected');
      else this.#startFailed(handle, { kind: 'exit', code: null, signal: null });
    });
  }

  #onExit(handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    const previousState = handle.state;
    handle.markExited(code, signal);
    this.handles.delete(handle.worker);
    if (this.#host.emitting) this.#host.emit('exit', handle.worker, code, signal);
    const slot = this.slots[handle.slot];
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
      this.refill(slot, handle, `worker ${handle.pid ?? '?'} in slot ${slot.index} ${how}`);
    }
  }
}
