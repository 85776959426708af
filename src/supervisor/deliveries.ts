// Connections relayed to one worker (balance 'round-robin') and not acknowledged yet: the primary keeps its copy of each until the worker says it took it, and relays again one the worker refused or never received.
import type { ConnMessage } from '../protocol.js';

/** A raw handle: the primary's copy of a connection. */
export interface Closable {
  close(): void;
}

/** Closes a handle that came over IPC, if it is one (a message from another process may carry anything). */
export function closeHandle(value: unknown): void {
  if (value && typeof (value as Closable).close === 'function') (value as Closable).close();
}

/** A connection accepted on the socket `key`, on its way to a worker; `tries` counts the workers it has been offered to. */
export interface Relayed {
  readonly key: string;
  readonly connection: Closable;
  tries: number;
}

interface Pending {
  readonly relayed: Relayed;
  readonly sentAt: number;
}

/** What an acknowledgement or a probe found: connections to relay again, and how many of them never arrived. */
export interface Returned {
  readonly again: Relayed[];
  readonly lost: number;
}

const NOTHING: Returned = { again: [], lost: 0 };

/**
 * A worker out of file descriptors cannot receive a descriptor: the message that carried it is dropped whole,
 * and nothing says so. Acknowledgements come in the order the connections were sent (IPC keeps order), so
 * one acknowledged after another that was never acknowledged means that one was lost. The last ones sent
 * have nothing after them: when one has waited `stuckMs`, a ping goes out, and whatever was sent before it
 * and is still unacknowledged when the pong is back was lost too.
 */
export class Deliveries {
  /** Sent and not acknowledged, by sequence number, in the order sent. */
  readonly #pending = new Map<number, Pending>();
  readonly #send: (message: ConnMessage, connection: Closable) => boolean;
  readonly #ping: (id: number) => void;
  #seq = 0;
  /** The ping out now, and the last sequence number sent before it. */
  #probe: { id: number; upTo: number } | null = null;
  #nextProbe = 0;

  /** `send` writes the message with the connection as its handle (false when the channel is closed); `ping(id)` sends `{cmd: 'qilin:ping', id}`. */
  constructor(send: (message: ConnMessage, connection: Closable) => boolean, ping: (id: number) => void) {
    this.#send = send;
    this.#ping = ping;
  }

  /** Sends `relayed` to the worker; false (and nothing kept) when its channel is closed. */
  deliver(relayed: Relayed, now: number): boolean {
    const seq = ++this.#seq;
    if (!this.#send({ cmd: 'qilin:conn', seq, key: relayed.key }, relayed.connection)) return false;
    this.#pending.set(seq, { relayed, sentAt: now });
    return true;
  }

  /** The worker's acknowledgement: copies of the connections taken are closed; those refused, and those sent before and never acknowledged, are returned. */
  taken(taken: readonly number[], refused: readonly number[]): Returned {
    let highest = 0;
    const again: Relayed[] = [];
    for (const seq of taken) {
      const pending = this.#pending.get(seq);
      if (pending === undefined) continue;
      this.#pending.delete(seq);
      pending.relayed.connection.close();
      highest = Math.max(highest, seq);
    }
    for (const seq of refused) {
      const pending = this.#pending.get(seq);
      if (pending === undefined) continue;
      this.#pending.delete(seq);
      again.push(pending.relayed);
      highest = Math.max(highest, seq);
    }
    const lost = this.#lostUpTo(highest - 1);
    return lost.length === 0 && again.length === 0 ? NOTHING : { again: [...again, ...lost], lost: lost.length };
  }

  /** True while a connection has waited longer than `stuckMs`: the worker may not be receiving them. */
  stuck(stuckMs: number, now: number): boolean {
    const oldest = this.#pending.values().next();
    return !oldest.done && now - oldest.value.sentAt >= stuckMs;
  }

  /** Sends a ping when a connection has waited `stuckMs` and none is out. */
  check(stuckMs: number, now: number): void {
    if (this.#probe !== null || !this.stuck(stuckMs, now)) return;
    this.#nextProbe += 1;
    this.#probe = { id: this.#nextProbe, upTo: this.#seq };
    this.#ping(this.#nextProbe);
  }

  /** The worker answered ping `id`: what was sent before it and is still unacknowledged never arrived. */
  pong(id: number): Returned {
    const probe = this.#probe;
    if (probe === null || probe.id !== id) return NOTHING;
    this.#probe = null;
    const lost = this.#lostUpTo(probe.upTo);
    return lost.length === 0 ? NOTHING : { again: lost, lost: lost.length };
  }

  /** The worker has gone: whether it read them is unknown, so the connections still unacknowledged are closed, as its exit closed its own copies. */
  drop(): void {
    for (const { relayed } of this.#pending.values()) relayed.connection.close();
    this.#pending.clear();
    this.#probe = null;
  }

  get size(): number {
    return this.#pending.size;
  }

  #lostUpTo(last: number): Relayed[] {
    const lost: Relayed[] = [];
    for (const [seq, pending] of this.#pending) {
      if (seq > last) break;
      this.#pending.delete(seq);
      lost.push(pending.relayed);
    }
    return lost;
  }
}
