// After a burst of signals, has Node look for exited workers again: a flood of signals can make it drop the SIGCHLD that says one exited.

/** How long after a signal the check is made, in ms; while a burst lasts, one check per this long. */
export const CHILD_CHECK_DELAY = 200;

/**
 * libuv hands each signal from its handler to the event loop through a pipe, and when a flood fills that
 * pipe it drops what does not fit, SIGCHLD included. SIGCHLD is how it learns that a child has exited: a
 * worker whose exit is never seen keeps a shutdown waiting forever (a tight loop of signals around a
 * SIGTERM left qilin hung with its last worker a zombie in about 1 run in 8). Any SIGCHLD makes libuv reap
 * every child that has exited, so `check` (a SIGCHLD sent to this process) runs `delay` ms after a signal,
 * every `delay` ms while more keep coming, and once more after the last: that one finds the pipe drained.
 */
export class ChildCheck {
  readonly #check: () => void;
  readonly #delay: number;
  #timer: NodeJS.Timeout | null = null;
  /** Signals seen since the timer was set: if any, one more check follows the one it makes. */
  #since = 0;

  constructor(check: () => void, delay = CHILD_CHECK_DELAY) {
    this.#check = check;
    this.#delay = delay;
  }

  /** A signal has come. */
  signalled(): void {
    this.#since += 1;
    if (!this.#timer) this.#arm();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    this.#since = 0;
    // Unreferenced: a worker that has not been reaped keeps the process alive on its own.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      try {
        this.#check();
      } catch {
        // Nothing to check any more.
      }
      if (this.#since > 0) this.#arm();
    }, this.#delay);
    this.#timer.unref();
  }
}

/** Sends SIGCHLD to this process: libuv then waits for every child process that has exited. */
export function checkChildren(): void {
  process.kill(process.pid, 'SIGCHLD');
}
