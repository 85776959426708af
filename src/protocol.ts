// The messages and environment variables the primary and the worker runtime use to talk, shared by both sides.

/** Environment variables set in every worker. */
export const ENV = {
  /** The worker's slot, as in recluster: `'0'` to `String(workers - 1)`. */
  slot: 'WORKER_ID',
  /** The generation the worker belongs to: 0 for the first, then one more per reload. */
  generation: 'QILIN_GENERATION',
  /** Milliseconds between heartbeats, or 0 when the primary does not watch them. */
  heartbeatInterval: 'QILIN_HEARTBEAT_INTERVAL',
  /** `maxMemory` in bytes, or 0: the runtime checks its resident memory every second and reports at once when above. */
  maxMemory: 'QILIN_MAX_MEMORY',
  /** The drain deadline in ms for a worker that retires by itself (after an uncaught exception): the cluster's `timeout`. */
  timeout: 'QILIN_TIMEOUT',
  /**
   * When the primary owns the listening sockets (with the runtime): `'1'` with `balance: 'kernel'` or `'reuseport'`, where the
   * worker accepts on the copy it is sent; `'rr'` with round-robin, where the primary accepts and relays each
   * connection to a worker. The runtime asks the primary for each TCP port the app listens on.
   */
  ownSockets: 'QILIN_OWN_SOCKETS',
} as const;

/** How long before SIGTERM (at `timeout`) a retiring worker's own drain deadline comes: a tenth of `timeout`, at most 1 s. */
export function signalMargin(timeout: number): number {
  return Math.min(1_000, Math.ceil(timeout / 10));
}

/** The longest a crashed worker gets to finish its other requests: its state is suspect, and the request that threw may never be answered. */
export const CRASH_DEADLINE_CAP = 10_000;

/** When a crashed worker is sent SIGTERM, from its crash: `timeout`, at most CRASH_DEADLINE_CAP. Its own drain ends a margin before. */
export function crashDeadline(timeout: number): number {
  return Math.min(timeout, CRASH_DEADLINE_CAP);
}

/** Sent by a worker when it is ready, with `readyWhen: 'ready'` (recluster's message). */
export interface ReadyMessage {
  readonly cmd: 'ready';
}

/** Sent by a worker that wants to be replaced; sent to a worker that is being retired (recluster's message), with why when the runtime is off. */
export interface DisconnectMessage {
  readonly cmd: 'disconnect';
  readonly reason?: RetireReason;
}

/** The runtime has loaded in the worker, so retirement can be graceful. */
export interface HelloMessage {
  readonly cmd: 'qilin:hello';
}

/** From the worker's event loop, every `QILIN_HEARTBEAT_INTERVAL` ms and whenever it is above `QILIN_MAX_MEMORY`, with its resident memory. */
export interface HeartbeatMessage {
  readonly cmd: 'qilin:heartbeat';
  readonly rss: number;
}

/** An uncaught exception: the worker stops accepting, finishes what it can and exits; the primary replaces it at once. */
export interface CrashMessage {
  readonly cmd: 'qilin:crash';
  readonly error: { readonly name: string; readonly message: string; readonly stack: string | undefined };
}

/** A server in the worker failed to listen (EADDRINUSE, EACCES...), even if the app handled the error itself (Express 5 does): the worker cannot serve. */
export interface ListenErrorMessage {
  readonly cmd: 'qilin:listen-error';
  readonly error: {
    readonly code: string;
    readonly message: string;
    /** Where it tried: `127.0.0.1:8000`, `port 8000` (every address), or a socket path. */
    readonly address: string;
  };
}

/** The drain deadline ended connections still open, `requests` of them in the middle of a response. Sent just before the worker leaves. */
export interface CutMessage {
  readonly cmd: 'qilin:cut';
  readonly requests: number;
  readonly connections: number;
  readonly reason: RetireReason;
}

/** Primary to worker: answer with a pong. IPC keeps order, so the pong says the worker has read every earlier message. */
export interface PingMessage {
  readonly cmd: 'qilin:ping';
  readonly id: number;
}

export interface PongMessage {
  readonly cmd: 'qilin:pong';
  readonly id: number;
}

/** Primary to worker: answer with its HTTP response counts (to judge a canary); with `load`, also its busy connections, and start a new load window (rebalancing). */
export interface CountMessage {
  readonly cmd: 'qilin:count';
  readonly id: number;
  readonly load?: boolean;
}

/**
 * Primary to worker: each HTTP/1 connection open now gets its next response with `Connection: close` (its
 * client comes back on a new one), so a canary gets keep-alive clients too. With `limit` (rebalancing), at
 * most that many, of the connections that have lasted (busy in each of the last few load windows).
 */
export interface RecycleMessage {
  readonly cmd: 'qilin:recycle';
  readonly limit?: number;
  /** With `limit`: for this long, as many connections as were asked, accepted anew, go back unread (a HandoverMessage with `rebalance`). */
  readonly passMs?: number;
}

/** A worker's HTTP responses since it started: all of them, and those with a status of 500 or above. */
export interface ResponseCounts {
  readonly responses: number;
  readonly errors: number;
}

/** A worker's counts as the admin interface shows them: its responses, and the connections it holds open now (null: its runtime did not say). */
export interface WorkerCounts extends ResponseCounts {
  readonly connections: number | null;
}

export interface CountedMessage extends ResponseCounts {
  readonly cmd: 'qilin:counted';
  readonly id: number;
  /** The TCP connections open now on every server it listens on, whatever they speak (HTTP/1, HTTP/2, upgraded, TLS, plain TCP). */
  readonly connections?: number;
  /** Asked with `load`: its open HTTP/1 connections that answered at least two responses in the load window just ended (and were not asked to reconnect). */
  readonly busy?: number;
  /** Asked with `load`: how many of those were busy in each of the last few windows (the worker's `LASTING_WINDOWS`), the only ones rebalancing moves. */
  readonly lasting?: number;
}

/** The worker ran out of file descriptors (it cannot accept a connection), or has some again. Sent on each change. */
export interface DescriptorsMessage {
  readonly cmd: 'qilin:descriptors';
  readonly exhausted: boolean;
  /** EMFILE (this process's limit) or ENFILE (the system's), while exhausted. */
  readonly code: string | null;
}

/** Worker to primary: the socket for a TCP listen (`address` null: every address). Answered by a SocketMessage with the same id. */
export interface SocketRequestMessage {
  readonly cmd: 'qilin:socket-request';
  readonly id: number;
  readonly address: string | null;
  readonly port: number;
  /** Which of this worker's listens on that address it is, from 0 (node:cluster's numbering): listens with the same index in every worker share a socket. */
  readonly index: number;
}

/**
 * Primary to worker: the socket asked for, sent with the message as its handle, or why there is none (a failed
 * bind, as Node reports it). With round-robin, `relay` is the socket's key in the primary's table: the worker
 * does not accept on it, the primary relays its connections (a ConnMessage). With balance 'reuseport', `spare`
 * is the key of the slot's own socket: the worker accepts on it, and sends a copy back once listening.
 */
export interface SocketMessage {
  readonly cmd: 'qilin:socket';
  readonly id: number;
  readonly error: { readonly code: string; readonly errno: number; readonly syscall: string; readonly address: string | null; readonly port: number } | null;
  readonly relay?: string;
  readonly spare?: string;
}

/**
 * A server listens on a socket of the primary's: node:cluster does not see that listen, so the runtime says so
 * (`listening` in the primary). With round-robin, `relay` is the socket's key and the socket comes back as the
 * handle: the primary's copy to accept on (Node has no dup()). With balance 'reuseport', `spare` is the slot
 * socket's key and the socket comes back the same way: the copy the primary accepts on while no worker of the
 * slot does.
 */
export interface ListeningMessage {
  readonly cmd: 'qilin:listening';
  readonly address: { readonly address: string; readonly port: number; readonly addressType: 4 | 6 };
  readonly relay?: string;
  readonly spare?: string;
}

/**
 * Balance 'reuseport', primary to worker: accept on the removed slot's socket `key` (sent with the message as
 * its handle) for the server on `port`, beside this worker's own; answered by an AdoptedMessage.
 */
export interface AdoptSocketMessage {
  readonly cmd: 'qilin:adopt-socket';
  readonly key: string;
  readonly port: number;
}

/** Worker to primary: whether it accepts on the adopted socket `key` now. */
export interface AdoptedMessage {
  readonly cmd: 'qilin:adopted';
  readonly key: string;
  readonly ok: boolean;
}

/** Primary to worker: stop accepting on the adopted socket `key` (its slot has a worker again). */
export interface DropSocketMessage {
  readonly cmd: 'qilin:drop-socket';
  readonly key: string;
}

/**
 * Primary to worker: send a fresh copy of the slot socket `key` (the primary closed its own to stop accepting
 * on it; Node has no dup()). Answered by a SpareMessage with the copy as its handle.
 */
export interface SpareRequestMessage {
  readonly cmd: 'qilin:spare-request';
  readonly key: string;
}

export interface SpareMessage {
  readonly cmd: 'qilin:spare';
  readonly key: string;
}

/**
 * Primary to worker, with round-robin: a connection the primary accepted on the socket `key`, sent with the
 * message as its handle. The worker's server on that socket takes it as if it had accepted it.
 */
export interface ConnMessage {
  readonly cmd: 'qilin:conn';
  readonly seq: number;
  readonly key: string;
}

/**
 * Worker to primary: the relayed connections it has taken, and those it refused (its server on that socket
 * has closed, or is at `maxConnections`), by `seq`, in the order they came. The primary closes its copy of
 * each one taken and relays each one refused to another worker; one sent before a later acknowledged one and
 * in neither list never arrived (the worker was out of file descriptors), and is relayed again too.
 */
export interface TakenMessage {
  readonly cmd: 'qilin:taken';
  readonly taken: readonly number[];
  readonly refused: readonly number[];
}

/** Why a worker is retired. */
export type RetireReason = 'reload' | 'replace' | 'shutdown' | 'scale' | 'crash';

export const RETIRE_REASONS: ReadonlySet<string> = new Set<RetireReason>(['reload', 'replace', 'shutdown', 'scale', 'crash']);

/** Primary to worker: stop accepting, finish in-flight requests, run the shutdown hooks, then disconnect, all within `deadline` ms. */
export interface RetireMessage {
  readonly cmd: 'qilin:retire';
  readonly deadline: number;
  readonly reason: RetireReason;
  /** Other workers stay to serve: idle keep-alive connections are handed to them (a HandoverMessage) instead of closed. */
  readonly handover?: boolean;
}

/**
 * An idle HTTP/1 keep-alive connection of a retiring worker, sent with the message as its handle: from that
 * worker to the primary, then from the primary to a worker that stays, whose server listening on `port`
 * takes it as a new connection. The client's next request is read by the new worker; the connection never closes.
 */
export interface HandoverMessage {
  readonly cmd: 'qilin:handover';
  readonly port: number;
  /** A connection the worker has just accepted, unread, for the primary to give to an idler worker (rebalancing). */
  readonly rebalance?: boolean;
}

export type WorkerToPrimary =
  | ReadyMessage
  | DisconnectMessage
  | HelloMessage
  | HeartbeatMessage
  | CrashMessage
  | ListenErrorMessage
  | CutMessage
  | PongMessage
  | CountedMessage
  | DescriptorsMessage
  | SocketRequestMessage
  | ListeningMessage
  | AdoptedMessage
  | SpareMessage
  | HandoverMessage
  | TakenMessage;

function hasCmd(message: unknown): message is { cmd: unknown } {
  return typeof message === 'object' && message !== null && 'cmd' in message;
}

/** Qilin's own messages, which are not passed on as `message` events. */
export type InternalMessage =
  | HelloMessage
  | HeartbeatMessage
  | CrashMessage
  | ListenErrorMessage
  | CutMessage
  | PongMessage
  | CountedMessage
  | DescriptorsMessage
  | RetireMessage
  | PingMessage
  | CountMessage
  | RecycleMessage
  | SocketRequestMessage
  | SocketMessage
  | ListeningMessage
  | AdoptSocketMessage
  | AdoptedMessage
  | DropSocketMessage
  | SpareRequestMessage
  | SpareMessage
  | HandoverMessage
  | TakenMessage;

/** Qilin's own messages (`qilin:...`). Their fields come from another process, so readers still check them. */
export function isInternalMessage(message: unknown): message is InternalMessage {
  return hasCmd(message) && typeof message.cmd === 'string' && message.cmd.startsWith('qilin:');
}

export function isCommand<C extends string>(message: unknown, cmd: C): message is { cmd: C } {
  return hasCmd(message) && message.cmd === cmd;
}
