// Waits for a batch of new workers to become ready, or for the first of them to fail.
import type { StartFailure } from '../errors.js';
import type { WorkerHandle } from './worker-handle.js';

/** Told about the readiness or failure of workers it holds. */
export interface StartListener {
  ready(handle: WorkerHandle): void;
  fail(handle: WorkerHandle, failure: StartFailure): void;
}

/** The reason a batch did not start: which worker failed, and how. */
export class BatchFailure {
  readonly handle: WorkerHandle;
  readonly failure: StartFailure;

  constructor(handle: WorkerHandle, failure: StartFailure) {
    this.handle = handle;
    this.failure = failure;
  }
}

/** Resolves once every added worker is ready; rejects with a BatchFailure at the first failure, or with the reason given to `cancel`. */
export class BatchStart implements StartListener {
  readonly handles: WorkerHandle[] = [];
  readonly promise: Promise<void>;
  readonly #pending = new Set<WorkerHandle>();
  #sealed = false;
  #settled = false;
  #resolve!: () => void;
  #reject!: (reason: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Settled promises nobody awaits (a batch cancelled twice) must not surface as unhandled rejections.
    this.promise.catch(() => {});
  }

  add(handle: WorkerHandle): void {
    this.handles.push(handle);
    this.#pending.add(handle);
  }

  /** No more workers will be added: resolve as soon as the pending ones are ready. */
  seal(): void {
    this.#sealed = true;
    this.#check();
  }

  ready(handle: WorkerHandle): void {
    this.#pending.delete(handle);
    this.#check();
  }

  fail(handle: WorkerHandle, failure: StartFailure): void {
    this.#settle(() => this.#reject(new BatchFailure(handle, failure)));
  }

  cancel(reason: unknown): void {
    this.#settle(() => this.#reject(reason));
  }

  #check(): void {
    if (this.#sealed && this.#pending.size === 0) this.#settle(() => this.#resolve());
  }

  #settle(settle: () => void): void {
    if (this.#settled) return;
    this.#settled = true;
    settle();
  }
}
