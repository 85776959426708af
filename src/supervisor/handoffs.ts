// Round-robin handoffs a worker never received: found, and given to another worker, so a worker out of file descriptors is not a silent outage.
import type { Worker } from 'node:cluster';

/**
 * With `balance: 'round-robin'`, node:cluster's primary accepts each connection and sends it to a worker over
 * IPC, then waits for the worker's acknowledgement before it sends that worker another. A worker out of file
 * descriptors (EMFILE) cannot receive the descriptor: the message is dropped, no acknowledgement ever comes,
 * and the primary never sends that worker a connection again, nor gives the lost one to anyone else. After a
 * burst that exhausts every worker, nothing is served, while every worker is up.
 *
 * This watches the handoffs node:cluster makes to one worker (the `newconn` messages of its internal protocol,
 * and their `ack`s). One left unacknowledged for a while is checked with a ping through the worker's runtime:
 * IPC keeps order, so once the pong is back, the worker has read everything sent before the ping, and
 * acknowledged every handoff it received. One still unacknowledged was lost; it is answered with the refusal a
 * worker sends when it is shutting down, and node:cluster gives that connection to another worker and starts
 * handing this one connections again. Where node:cluster's protocol differs (another Node.js version), no
 * handoff is seen and nothing is done.
 */
export class HandoffWatch {
  readonly #worker: Worker;
  readonly #ping: (id: number) => void;
  /** Handoffs sent and not acknowledged yet: their sequence numbers, with when they were sent. */
  readonly #pending = new Map<number, number>();
  /** The ping out now, and the handoffs that were pending when it went. */
  #probe: { id: number; seqs: number[] } | null = null;
  #nextId = 0;

  /** `ping(id)` sends the worker's runtime `{cmd: 'qilin:ping', id}`; `pong(id)` is to be called with its answer. */
  constructor(worker: Worker, ping: (id: number) => void) {
    this.#worker = worker;
    this.#ping = ping;
    const child = worker.process as Worker['process'] & { send: (...args: unknown[]) => boolean };
    const send = child.send;
    const pending = this.#pending;
    child.send = function watchedSend(this: unknown, message: unknown, ...rest: unknown[]): boolean {
      const seq = handoffSeq(message);
      if (seq !== null) pending.set(seq, performance.now());
      return Reflect.apply(send, this, [message, ...rest]) as boolean;
    };
    worker.process.on('internalMessage', (message: unknown) => {
      const ack = ackSeq(message);
      if (ack !== null) pending.delete(ack);
    });
  }

  /** True while a handoff has waited longer than `stuckMs`: the worker may not be receiving connections. */
  stuck(stuckMs: number, now = performance.now()): boolean {
    for (const sent of this.#pending.values()) if (now - sent >= stuckMs) return true;
    return false;
  }

  /** Sends a ping when a handoff has waited `stuckMs` and none is out. */
  check(stuckMs: number, now = performance.now()): void {
    if (this.#probe !== null || !this.stuck(stuckMs, now)) return;
    const seqs = [...this.#pending].filter(([, sent]) => now - sent >= stuckMs).map(([seq]) => seq);
    this.#nextId += 1;
    this.#probe = { id: this.#nextId, seqs };
    this.#ping(this.#nextId);
  }

  /** The worker answered ping `id`: returns how many handoffs it never received, each now given to another worker. */
  pong(id: number): number {
    const probe = this.#probe;
    if (probe === null || probe.id !== id) return 0;
    this.#probe = null;
    let lost = 0;
    for (const seq of probe.seqs) {
      if (!this.#pending.delete(seq)) continue;
      lost += 1;
      this.#worker.process.emit('internalMessage', { cmd: 'NODE_CLUSTER', ack: seq, accepted: false });
    }
    return lost;
  }
}

/** The sequence number of a connection handoff in node:cluster's internal messages, or null for any other message. */
function handoffSeq(message: unknown): number | null {
  if (typeof message !== 'object' || message === null) return null;
  const { cmd, act, seq } = message as { cmd?: unknown; act?: unknown; seq?: unknown };
  return cmd === 'NODE_CLUSTER' && act === 'newconn' && typeof seq === 'number' ? seq : null;
}

function ackSeq(message: unknown): number | null {
  if (typeof message !== 'object' || message === null) return null;
  const { cmd, ack } = message as { cmd?: unknown; ack?: unknown };
  return cmd === 'NODE_CLUSTER' && typeof ack === 'number' ? ack : null;
}
