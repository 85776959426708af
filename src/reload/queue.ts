// Coalesces reload requests: one runs at a time, requests made meanwhile share one more run afterwards, and every caller hears its outcome.

interface Waiter<T> {
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/**
 * `request()` starts a run when none is under way. Requests made while one runs are merged into a single
 * next run, which starts when the current one ends (whatever its outcome), so the newest code is what
 * gets loaded and there are never two runs at once. Every request's promise settles with the outcome of
 * the run that served it.
 */
export class ReloadQueue<T> {
  readonly #run: () => Promise<T>;
  #running = false;
  #next: Waiter<T>[] | null = null;

  constructor(run: () => Promise<T>) {
    this.#run = run;
  }

  /** True while a run is under way. */
  get busy(): boolean {
    return this.#running;
  }

  /** True when a run is waiting for the current one to end. */
  get queued(): boolean {
    return this.#next !== null;
  }

  request(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#running) {
        this.#next ??= [];
        this.#next.push(waiter);
      } else {
        this.#start([waiter]);
      }
    });
  }

  /** Rejects every request waiting for the next run; the run under way, if any, is left to end. */
  cancelQueued(reason: unknown): void {
    const waiting = this.#next ?? [];
    this.#next = null;
    for (const waiter of waiting) waiter.reject(reason);
  }

  #start(waiters: Waiter<T>[]): void {
    this.#running = true;
    let outcome: Promise<T>;
    try {
      outcome = this.#run();
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (value) => this.#finish(waiters, (w) => w.resolve(value)),
      (error: unknown) => this.#finish(waiters, (w) => w.reject(error)),
    );
  }

  #finish(waiters: Waiter<T>[], settle: (waiter: Waiter<T>) => void): void {
    this.#running = false;
    for (const waiter of waiters) settle(waiter);
    const next = this.#next;
    this.#next = null;
    if (next) this.#start(next);
  }
}
