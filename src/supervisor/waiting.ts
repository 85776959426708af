// Connections waiting in the primary, unread, for a worker that can take them: each for a bounded time, then closed, which is what a full queue or the retiring worker would have done.
import type { Closable } from './deliveries.js';

export class WaitingRoom<T> {
  readonly #waiting = new Map<T, ReturnType<typeof setTimeout>>();
  readonly #waitMs: number;
  readonly #connectionOf: (item: T) => Closable;
  readonly #limit: number;

  /** Each item waits `waitMs` at most; `connectionOf` is what is closed then; past `limit` waiting, a new one is closed at once. */
  constructor(waitMs: number, connectionOf: (item: T) => Closable, limit = Number.POSITIVE_INFINITY) {
    this.#waitMs = waitMs;
    this.#connectionOf = connectionOf;
    this.#limit = limit;
  }

  add(item: T): void {
    if (this.#waiting.size >= this.#limit) {
      this.#connectionOf(item).close();
      return;
    }
    const timer = setTimeout(() => {
      this.#waiting.delete(item);
      this.#connectionOf(item).close();
    }, this.#waitMs);
    timer.unref?.();
    this.#waiting.set(item, timer);
  }

  /**
   * Offers the waiting items, oldest first, to `give`; those it took leave. With `untilRefused`, the first one
   * refused ends the round (the others wait for the same workers).
   */
  offer(give: (item: T) => boolean, untilRefused = false): void {
    for (const [item, timer] of this.#waiting) {
      if (!give(item)) {
        if (untilRefused) return;
        continue;
      }
      clearTimeout(timer);
      this.#waiting.delete(item);
    }
  }

  /** Nobody will take them: every one is closed now. */
  closeAll(): void {
    for (const [item, timer] of this.#waiting) {
      clearTimeout(timer);
      this.#connectionOf(item).close();
    }
    this.#waiting.clear();
  }

  get size(): number {
    return this.#waiting.size;
  }
}
