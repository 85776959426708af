// One worker as the primary sees it: its state (changed only through the transition table), its phase's timers, and guarded I/O that can never throw into the primary.
import type { Worker } from 'node:cluster';
import { LineTail } from '../line-tail.js';
import type { ResolvedOptions } from '../options.js';
import type { CountedMessage, RetireMessage, WorkerCounts } from '../protocol.js';
import { MAX_TIMER } from '../units.js';
import type { BatchStart } from './batch.js';
import type { Deliveries } from './deliveries.js';
import { type WorkerEvent, type WorkerState, phaseOf, transition } from './lifecycle.js';

const noop = (): void => {};

/** A worker's answer to a count request: its response counts, open connections, and its busy ones when asked for its load. */
export type Counted = Omit<CountedMessage, 'cmd' | 'id'>;

/** A worker's load, for rebalancing: its busy HTTP/1 connections, and how many of those have lasted (the ones it may be asked to move). */
export interface Load {
  readonly busy: number;
  readonly lasting: number;
}
/** Ids of the primary's count requests, unique in this process. */
let nextCountId = 1;

export class WorkerHandle {
  readonly worker: Worker;
  readonly slot: number;
  readonly generation: number;
  /** The settings it was forked with: its generation's (a reload may bring new ones), which time its start and its stop. */
  readonly options: ResolvedOptions;
  readonly forkedAt = Date.now();
  readonly stderr = new LineTail();
  #state: WorkerState = 'starting';
  /** Aborted when the worker leaves the current phase of its life: that phase's timers end together. */
  #phase = new AbortController();
  readyAt: number | null = null;
  /** It has called `listen()` at least once, so it may be handed connections. */
  listened = false;
  /** The TCP ports it listens on, as it reported them: a retiring worker's connection for one of them can be handed to it. */
  readonly ports = new Set<number>();
  /** The worker runtime said hello: it can drain gracefully and sends heartbeats. */
  hasRuntime = false;
  /** When the last heartbeat arrived, on the monotonic clock, so a clock step cannot make a worker look hung. */
  lastHeartbeat: number;
  /** Resident memory from the last heartbeat (or the primary's own reading), in bytes. */
  rss: number | null = null;
  /** It went above `maxMemory`: the primary reads its memory itself, often, until it exits. */
  overMemory = false;
  /** Why the worker is being replaced while it still serves (set with the `replace` event). */
  replacing: string | null = null;
  /** When its replacement was asked for, on the monotonic clock. */
  replaceAskedAt: number | null = null;
  /**
   * The batch of new workers this one belongs to (the first start, a scale-up, a reload's batch), told of its
   * readiness or failure. When `holds`, the batch (a reload) also decides when it takes its slot.
   */
  batch: { readonly waiter: BatchStart<WorkerHandle>; readonly holds: boolean } | null = null;
  /** Connections relayed to this worker and not acknowledged yet (round-robin with the runtime; null otherwise). */
  deliveries: Deliveries | null = null;
  /** When a connection relayed to it was last lost (it was out of file descriptors): it gets none for a while. */
  lostAt = Number.NEGATIVE_INFINITY;
  /** EMFILE or ENFILE while the runtime says the worker is out of file descriptors; null otherwise. */
  outOfDescriptors: string | null = null;
  /** When lost handoffs were last logged for this worker, so a burst is one line. */
  lostLoggedAt = Number.NEGATIVE_INFINITY;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  /** Called after each change of state (the slot sockets' cover watches who still accepts). */
  changed: (() => void) | null = null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  #resolveExited!: () => void;
  #disconnectAsked = false;
  #killScheduled = false;
  /** Count requests sent and not answered yet, by id. */
  readonly #counting = new Map<number, (counts: Counted | null) => void>();

  constructor(worker: Worker, slot: number, generation: number, now: number, options: ResolvedOptions) {
    this.worker = worker;
    this.slot = slot;
    this.generation = generation;
    this.options = options;
    this.lastHeartbeat = now;
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  get state(): WorkerState {
    return this.#state;
  }

  /**
   * Moves the worker through the transition table. Returns the new state, or null when `event` means nothing
   * in the current state (nothing changes). Leaving a phase ends its timers.
   */
  apply(event: WorkerEvent): WorkerState | null {
    const next = transition(this.#state, event);
    if (next === null) return null;
    const before = phaseOf(this.#state);
    this.#state = next;
    if (phaseOf(next) !== before) {
      this.#phase.abort();
      this.#phase = new AbortController();
    }
    if (next === 'exited') {
      this.#resolveExited();
      for (const answer of this.#counting.values()) answer(null);
      this.#counting.clear();
    }
    this.changed?.();
    return next;
  }

  /** Ends the current phase's timers without a change of state (the cluster stopped managing). */
  endTimers(): void {
    this.#phase.abort();
    this.#phase = new AbortController();
  }

  get pid(): number | undefined {
    return this.worker.process.pid;
  }

  get alive(): boolean {
    return this.#state !== 'exited';
  }

  /** Its process runs and its IPC channel is open: messages (and handles) can be sent to it. */
  get connected(): boolean {
    return this.alive && this.worker.isConnected();
  }

  /** True while a reload holds it: its readiness and failure are the reload's to act on. */
  get held(): boolean {
    return this.batch?.holds === true;
  }

  /** Runs `fn` after `delay` ms unless the worker leaves its current phase first. */
  after(delay: number, fn: () => void, unref = false): void {
    const { signal } = this.#phase;
    if (signal.aborted) return;
    // Sums of two durations (a drain deadline plus killTimeout) can pass the longest delay a timer takes.
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', cancel);
        fn();
      },
      Math.min(delay, MAX_TIMER),
    );
    const cancel = (): void => clearTimeout(timer);
    signal.addEventListener('abort', cancel, { once: true });
    if (unref) timer.unref();
  }

  /** SIGTERM now, and SIGKILL `killTimeout` later if it is still there (scheduled once). */
  terminate(killTimeout: number): void {
    this.signal('SIGTERM');
    if (this.#killScheduled) return;
    this.#killScheduled = true;
    this.after(killTimeout, () => this.signal('SIGKILL'));
  }

  markExited(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitCode = code;
    this.exitSignal = signal;
    this.apply('exit');
  }

  /**
   * Sends a message if the channel is open; a closed channel or a failed write is ignored, never thrown.
   * `done` is called once the message is written, or could not be.
   */
  send(message: unknown, socket?: object, done: () => void = noop): void {
    if (!this.connected) {
      done();
      return;
    }
    try {
      this.worker.send(message as Parameters<Worker['send']>[0], socket as Parameters<Worker['send']>[1], () => done());
    } catch {
      // The channel closed between the check and the write: the worker is going away anyway.
      done();
    }
  }

  /** Node's disconnect (stop giving it connections, close its servers, close IPC), done at most once. */
  disconnect(): void {
    if (this.#disconnectAsked || !this.connected) return;
    this.#disconnectAsked = true;
    try {
      this.worker.disconnect();
    } catch {
      // Already disconnecting.
    }
  }

  /** Sends a signal to the process if it still runs. */
  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      this.worker.process.kill(signal);
    } catch {
      // ESRCH: it exited between the check and the kill.
    }
  }

  /**
   * Its HTTP responses so far, all and 5xx, as its runtime counts them, and the connections it holds open now;
   * null when no answer comes within `withinMs` (no runtime, a blocked event loop) or it exits first.
   */
  async countResponses(withinMs: number): Promise<WorkerCounts | null> {
    const counted = await this.#count(withinMs, false);
    return counted && { responses: counted.responses, errors: counted.errors, connections: counted.connections ?? null };
  }

  /**
   * How many of its HTTP/1 connections carried load (answered at least two responses) since the last time it
   * was asked, which starts a new window, and how many of those did in each window for the last few; null as
   * for `countResponses`.
   */
  async countLoad(withinMs: number): Promise<Load | null> {
    const counted = await this.#count(withinMs, true);
    return counted?.busy === undefined || counted.lasting === undefined ? null : { busy: counted.busy, lasting: counted.lasting };
  }

  #count(withinMs: number, load: boolean): Promise<Counted | null> {
    if (!this.hasRuntime || !this.connected) return Promise.resolve(null);
    const id = nextCountId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(null), withinMs);
      const answer = (counts: Counted | null): void => {
        clearTimeout(timer);
        this.#counting.delete(id);
        resolve(counts);
      };
      this.#counting.set(id, answer);
      this.send(load ? { cmd: 'qilin:count', id, load } : { cmd: 'qilin:count', id });
    });
  }

  /** The runtime's answer to a count request. */
  counted(id: number, counts: Counted): void {
    this.#counting.get(id)?.(counts);
  }

  /** Asks the runtime to drain within `deadline` ms, and sends recluster's `{cmd: 'disconnect'}` for apps that listen for it. */
  askToRetire(message: RetireMessage): void {
    this.send(message);
    this.send({ cmd: 'disconnect' });
  }
}
