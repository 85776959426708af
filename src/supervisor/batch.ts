// Waits for a batch of new workers to become ready, or for the first of them to fail.
import type { StartFailure } from '../errors.js';

/** The reason a batch did not start: which worker failed, and how. */
export class BatchFailure<H = unknown> {
  readonly handle: H;
  readonly failure: StartFailure;

  constructor(handle: H, failure: StartFailure) {
    this.handle = handle;
    this.failure = failure;
  }
}

/**
 * Resolves once every added worker (`H`: the supervisor's handle, whatever it is) is ready; rejects with a
 * BatchFailure at the first failure, or with the reason given to `cancel`.
 */
export class BatchStart<H = unknown> {
  readonly handles: H[] = [];
  readonly promise: Promise<void>;
  readonly #pending = new Set<H>();
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

  add(handle: H): void {
    this.handles.push(handle);
    this.#pending.add(handle);
  }

  /** No more workers will be added: resolve as soon as the pending ones are ready. */
  seal(): void {
    this.#sealed = true;
    this.#check();
  }

  ready(handle: H): void {
    this.#pending.delete(handle);
    this.#check();
  }

  fail(handle: H, failure: StartFailure): void {
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
