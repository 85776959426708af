// One worker as the primary sees it: slot, generation, state and timers, and guarded I/O that can never throw into the primary.
import type { Worker } from 'node:cluster';
import type { HandoffWatch } from './handoffs.js';
import { LineTail } from './line-tail.js';
import type { RetireMessage } from './protocol.js';
import type { StartListener } from './reload/batch-start.js';
import { MAX_TIMER } from './units.js';

/**
 * - `starting`: forked, not ready yet
 * - `ready`: ready per `readyWhen` (serving, or waiting to be promoted by a reload)
 * - `retiring`: being stopped: draining, or waiting for SIGTERM/SIGKILL
 * - `exited`: the process has exited
 */
export type WorkerState = 'starting' | 'ready' | 'retiring' | 'exited';

type TimerName = 'ready' | 'started' | 'slow' | 'healthy' | 'term' | 'kill' | 'disconnected';

const noop = (): void => {};

export class WorkerHandle {
  readonly worker: Worker;
  readonly slot: number;
  readonly generation: number;
  readonly forkedAt = Date.now();
  readonly stderr = new LineTail();
  state: WorkerState = 'starting';
  readyAt: number | null = null;
  /** It has called `listen()` at least once, so node:cluster may hand it connections. */
  listened = false;
  /** The worker runtime said hello: it can drain gracefully and sends heartbeats. */
  hasRuntime = false;
  /** When the last heartbeat arrived, on the monotonic clock (`performance.now()`), so a clock step cannot make a worker look hung. */
  lastHeartbeat = performance.now();
  /** Resident memory from the last heartbeat, in bytes. */
  rss: number | null = null;
  /** Why the worker is being replaced while it still runs, if it is. */
  replacing: string | null = null;
  /** Set while a reload owns this worker: its readiness and failure are the reload's to act on, and it takes its slot only when the reload says. */
  heldBy: StartListener | null = null;
  /** Told of this worker's readiness or failure (the first start, a scale-up), without holding it back from its slot. */
  watchedBy: StartListener | null = null;
  /** Round-robin handoffs to this worker, watched for ones it never receives (null with the kernel balancing, or without the runtime). */
  handoffs: HandoffWatch | null = null;
  /** EMFILE or ENFILE while the runtime says the worker is out of file descriptors; null otherwise. */
  outOfDescriptors: string | null = null;
  /** When lost handoffs were last logged for this worker (performance.now()), so a burst is one line. */
  lostLoggedAt = Number.NEGATIVE_INFINITY;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  #resolveExited!: () => void;
  #disconnectAsked = false;
  readonly #timers = new Map<TimerName, NodeJS.Timeout>();

  constructor(worker: Worker, slot: number, generation: number) {
    this.worker = worker;
    this.slot = slot;
    this.generation = generation;
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  markExited(code: number | null, signal: NodeJS.Signals | null): void {
    this.state = 'exited';
    this.exitCode = code;
    this.exitSignal = signal;
    this.clearTimers();
    this.#resolveExited();
  }

  get pid(): number | undefined {
    return this.worker.process.pid;
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  /** Sends a message if the channel is open; a closed channel or a failed write is ignored, never thrown. */
  send(message: unknown): void {
    if (!this.alive || !this.worker.isConnected()) return;
    try {
      this.worker.send(message as Parameters<Worker['send']>[0], undefined, noop);
    } catch {
      // The channel closed between the check and the write: the worker is going away anyway.
    }
  }

  /** Node's disconnect (stop giving it connections, close its servers, close IPC), done at most once. */
  disconnect(): void {
    if (this.#disconnectAsked || !this.alive || !this.worker.isConnected()) return;
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

  /** Asks the runtime to drain within `deadline` ms, and sends recluster's `{cmd: 'disconnect'}` for apps that listen for it. */
  askToRetire(message: RetireMessage): void {
    this.send(message);
    this.send({ cmd: 'disconnect' });
  }

  setTimer(name: TimerName, delay: number, fn: () => void, unref = false): void {
    this.clearTimer(name);
    // Sums of two durations (a drain deadline plus killTimeout) can pass the longest delay a timer takes.
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      fn();
    }, Math.min(delay, MAX_TIMER));
    if (unref) timer.unref();
    this.#timers.set(name, timer);
  }

  hasTimer(name: TimerName): boolean {
    return this.#timers.has(name);
  }

  clearTimer(name: TimerName): void {
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }

  clearTimers(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
