// Promises for APIs that also take callbacks and that callers may not await: never an unhandled rejection, and a callback's error is always an Error.

type Callback<T = void> = (error: Error | null, value?: T) => void;

/** Attaches a no-op handler so a promise nobody awaits never becomes an unhandled rejection; awaiting it still sees the rejection. */
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Calls `cb` (if it is a function) with the outcome of `promise`, node-style; returns the promise, quiet. */
export function callBack<T>(promise: Promise<T>, cb: unknown): Promise<T> {
  if (typeof cb === 'function') {
    promise.then(
      (value) => (cb as Callback<T>)(null, value),
      (error: unknown) => (cb as Callback<T>)(asError(error)),
    );
  }
  return quiet(promise);
}

/** Resolves after `ms` ms, or at once when `signal` aborts (or `ms` is 0 or less). */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
