// What a worker's process tells the primary (online, listening, messages, disconnect, exit, stderr), turned into the supervisor's transitions and the cluster's events.
import nodeCluster, { type Address } from 'node:cluster';
import { describeListenFailure } from '../errors.js';
import type { ReadyDetail, ReplaceReason } from '../events.js';
import { relays } from '../options.js';
import { describeCut, describeDescriptors, describeSlowStart } from '../notices.js';
import { type CrashMessage, type InternalMessage, isCommand, isInternalMessage } from '../protocol.js';
import { formatDuration, formatSize } from '../units.js';
import type { SupervisorCore } from './core.js';
import { closeHandle } from './deliveries.js';
import { isStopping } from './lifecycle.js';
import { SLOW_START_NOTICE, STARTED_WINDOW } from './timing.js';
import type { WorkerHandle } from './worker-handle.js';

/** The exception a worker reported, as `Name: message`; its fields come from another process, so they are checked. */
function crashText(message: CrashMessage): string {
  const { error } = message;
  return error && typeof error.message === 'string' ? `${String(error.name)}: ${error.message}` : 'unknown error';
}

/** Why a worker is being replaced, in words for the log: `worker 4242 in slot 1 asked to be replaced`. */
export function replacementNotice(supervisor: SupervisorCore, handle: WorkerHandle, reason: ReplaceReason): string {
  const because: Record<ReplaceReason, () => string> = {
    requested: () => 'asked to be replaced',
    disconnected: () => 'disconnected itself',
    unresponsive: () => `sent no heartbeat for ${formatDuration(Math.round(supervisor.io.now() - handle.lastHeartbeat))} (event loop blocked)`,
    memory: () => `uses ${formatSize(handle.rss ?? 0)}, above maxMemory ${formatSize(handle.options.maxMemory ?? 0)}`,
    crashed: () => 'had an uncaught exception',
  };
  return `worker ${handle.pid ?? '?'} in slot ${handle.slot} ${because[reason]()}`;
}

export class WorkerEvents {
  readonly #supervisor: SupervisorCore;

  constructor(supervisor: SupervisorCore) {
    this.#supervisor = supervisor;
  }

  /** Listens to everything a new worker's process says. */
  watch(handle: WorkerHandle): void {
    const { worker } = handle;
    const supervisor = this.#supervisor;
    const { host } = supervisor;
    const { options } = handle;
    worker.on('error', (error: NodeJS.ErrnoException) => {
      // A process that could not be spawned (its cwd or node missing, EAGAIN, EACCES) never ran and never
      // exits: it fails its start now, with the errno. Anything else here is a failed send to a closing
      // channel, which without a listener would crash the primary.
      if (handle.pid === undefined && typeof error?.syscall === 'string' && error.syscall.startsWith('spawn')) this.#spawnFailed(handle, error);
    });
    const { stderr } = worker.process;
    stderr?.on('data', (chunk: Buffer) => {
      handle.stderr.push(chunk.toString());
      if (!options.silent) supervisor.io.copyStderr(chunk, stderr);
    });
    worker.on('online', () => {
      if (!host.emitting) return;
      host.emit('online', worker);
      if (options.readyWhen === 'started') handle.after(STARTED_WINDOW, () => supervisor.markReady(handle, undefined));
    });
    worker.on('listening', (address: Address) => {
      handle.listened = true;
      if (typeof address?.port === 'number' && address.port > 0) handle.ports.add(address.port);
      if (!host.emitting) return;
      host.emit('listening', worker, address);
      if (options.readyWhen === 'listening') supervisor.markReady(handle, address);
      // A ready worker that listens on one more port can take the connections waiting for that port.
      supervisor.canTake();
    });
    worker.on('message', (message: unknown, sent?: unknown) => {
      if (isCommand(message, 'qilin:handover')) {
        // A connection in transit is passed on (or closed) even while the cluster is stopping: never leaked.
        const { port, rebalance } = message as { port?: unknown; rebalance?: unknown };
        const from = rebalance === true ? { worker: handle, now: supervisor.io.now() } : null;
        supervisor.handovers.pass(supervisor.handles.values(), Number(port), sent, host.running, from);
        return;
      }
      if (!host.emitting) {
        // A socket sent back to accept on, for a cluster that has stopped: closed, not leaked.
        if (isCommand(message, 'qilin:listening') || isCommand(message, 'qilin:spare')) closeHandle(sent);
        return;
      }
      if (isInternalMessage(message)) {
        this.#onInternalMessage(handle, message, sent);
        return;
      }
      host.emit('message', worker, message);
      if (isCommand(message, 'ready') && options.readyWhen === 'ready') {
        supervisor.markReady(handle, message as ReadyDetail);
      } else if (isCommand(message, 'disconnect')) {
        supervisor.replace(handle, 'requested');
      }
    });
    worker.on('disconnect', () => {
      supervisor.relay.gone(handle);
      if (!host.emitting) return;
      host.emit('disconnect', worker);
      this.#onDisconnect(handle);
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      supervisor.relay.gone(handle);
      this.#onExit(handle, code, signal);
    });
  }

  /** The slow-start notice, for a worker still starting `SLOW_START_NOTICE` ms after its fork. */
  slowStart(handle: WorkerHandle): void {
    if (handle.state !== 'starting') return;
    const { host } = this.#supervisor;
    const { readyWhen, readyTimeout } = handle.options;
    const info = { slot: handle.slot, generation: handle.generation, waitedMs: SLOW_START_NOTICE, readyWhen, listened: handle.listened, readyTimeout };
    host.emit('slowStart', handle.worker, info);
    host.log('warnings', describeSlowStart(handle.pid, info));
  }

  #onInternalMessage(handle: WorkerHandle, message: InternalMessage, sent: unknown): void {
    const supervisor = this.#supervisor;
    const { host } = supervisor;
    const { options } = handle;
    switch (message.cmd) {
      case 'qilin:hello':
        handle.hasRuntime = true;
        break;
      case 'qilin:heartbeat': {
        handle.lastHeartbeat = supervisor.io.now();
        if (typeof message.rss === 'number') handle.rss = message.rss;
        const limit = options.maxMemory;
        if (limit !== null && handle.rss !== null && handle.rss > limit) {
          handle.overMemory = true;
          supervisor.watchMemory(handle);
          supervisor.replace(handle, 'memory');
        }
        break;
      }
      case 'qilin:crash':
        // A new worker receives connections once it listens, before it takes over its slot (a reload holds it
        // until the whole batch is ready). One that has not listened yet exits at once and fails as an exit.
        if (handle.listened && (handle.state === 'held' || handle.state === 'starting'))
          supervisor.startFailed(handle, { kind: 'crash', error: crashText(message) });
        else supervisor.replace(handle, 'crashed');
        break;
      case 'qilin:listen-error': {
        const { error } = message;
        if (!error || typeof error.code !== 'string') break;
        const failure = { kind: 'listen', code: error.code, address: String(error.address), error: String(error.message) } as const;
        // A worker that cannot listen serves nothing: a start (or a reload's worker, even one ready by another
        // server) fails now, naming the error, rather than at readyTimeout. One already serving keeps serving.
        if (handle.state === 'starting' || handle.state === 'held') supervisor.startFailed(handle, failure);
        else if (handle.state === 'ready' || handle.state === 'replacing') {
          host.log('warnings', `worker ${handle.pid ?? '?'} in slot ${handle.slot} ${describeListenFailure(failure)}; it keeps serving on its other servers`);
        }
        break;
      }
      case 'qilin:cut': {
        const requests = Number(message.requests);
        const connections = Number(message.connections);
        if (!(connections > 0)) break;
        const info = {
          slot: handle.slot,
          generation: handle.generation,
          requests: Math.max(requests, 0) || 0,
          connections,
          timeout: options.timeout,
          reason: message.reason,
        };
        host.emit('cut', handle.worker, info);
        host.log('warnings', describeCut(handle.pid, info));
        break;
      }
      case 'qilin:pong':
        if (typeof message.id === 'number') supervisor.relay.pong(handle, message.id);
        break;
      case 'qilin:counted': {
        const { id, responses, errors, connections, busy, lasting } = message;
        if (typeof id !== 'number' || !Number.isSafeInteger(responses) || !Number.isSafeInteger(errors)) break;
        const load = count(busy);
        const open = count(connections);
        // A runtime that does not tell which connections have lasted moves any busy one when asked.
        handle.counted(id, {
          responses,
          errors,
          ...(open === null ? {} : { connections: open }),
          ...(load === null ? {} : { busy: load, lasting: Math.min(load, count(lasting) ?? load) }),
        });
        break;
      }
      case 'qilin:taken':
        supervisor.relay.taken(handle, message.taken, message.refused);
        break;
      case 'qilin:socket-request': {
        const { id, address, port, index } = message;
        if (typeof id !== 'number' || typeof port !== 'number' || (address !== null && typeof address !== 'string')) break;
        // 'reuseport': the slot's own socket; a reload's canary shares slot 0's, so its slot leaves no socket behind.
        const slot = host.balance !== 'reuseport' ? null : supervisor.slot(handle.slot)?.canary ? 0 : handle.slot;
        const got = supervisor.sockets.acquire(supervisor, { address, port }, Number.isSafeInteger(index) && index >= 0 ? index : 0, slot);
        if ('error' in got) handle.send({ cmd: 'qilin:socket', id, error: got.error });
        // 'reuseport': the slot's own socket, a copy of which comes back once the worker listens on it.
        else if (got.slotted) handle.send({ cmd: 'qilin:socket', id, error: null, spare: got.key }, got.handle);
        else if (!relays(host.balance)) handle.send({ cmd: 'qilin:socket', id, error: null }, got.handle);
        // Round-robin: the worker does not accept on the socket; the primary relays its connections.
        else handle.send({ cmd: 'qilin:socket', id, error: null, relay: got.key }, got.handle);
        break;
      }
      case 'qilin:listening': {
        const { address, relay, spare } = message;
        if (!address || typeof address.port !== 'number') {
          closeHandle(sent);
          break;
        }
        // Round-robin: the socket came back with the message, the primary's own copy to accept on.
        if (typeof relay === 'string') supervisor.relay.listening(relay, address.port, sent);
        // 'reuseport': the copy to accept on while no worker of the slot does.
        else if (typeof spare === 'string') supervisor.cover.listening(handle, spare, address.port, sent);
        else closeHandle(sent);
        // As node:cluster reports a listen it served: the same event on the worker, and on node:cluster.
        const reported = { address: String(address.address), port: address.port, addressType: address.addressType === 6 ? 6 : 4 };
        handle.worker.emit('listening', reported);
        nodeCluster.emit('listening', handle.worker, reported);
        break;
      }
      case 'qilin:spare':
        supervisor.cover.spare(message.key, sent);
        break;
      case 'qilin:adopted':
        supervisor.cover.adopted(handle, message.key, message.ok === true);
        break;
      case 'qilin:descriptors': {
        const code = message.exhausted ? (typeof message.code === 'string' ? message.code : 'EMFILE') : null;
        if ((code === null) === (handle.outOfDescriptors === null)) break;
        handle.outOfDescriptors = code;
        const info = { slot: handle.slot, generation: handle.generation, exhausted: code !== null, code };
        host.emit('descriptors', handle.worker, info);
        host.log('warnings', describeDescriptors(handle.pid, info));
        // It can take connections again: those waiting in the primary for a worker go now. With 'reuseport',
        // the primary accepts on its slot's socket while it cannot.
        if (code === null) supervisor.canTake();
        supervisor.cover.check();
        break;
      }
      default:
        break;
    }
  }

  #spawnFailed(handle: WorkerHandle, error: NodeJS.ErrnoException): void {
    const supervisor = this.#supervisor;
    if (!handle.alive) return;
    handle.markExited(null, null);
    supervisor.handles.delete(handle.worker);
    supervisor.startFailed(handle, { kind: 'spawn', code: error.code ?? 'unknown', error: error.message });
  }

  #onDisconnect(handle: WorkerHandle): void {
    const supervisor = this.#supervisor;
    if (isStopping(handle.state)) return;
    if (handle.state === 'ready' && handle.worker.exitedAfterDisconnect) {
      supervisor.replace(handle, 'disconnected');
      return;
    }
    // A dying process disconnects just before it exits; one that stays up without IPC is replaced.
    handle.after(handle.options.killTimeout, () => {
      if (isStopping(handle.state)) return;
      if (handle.state === 'ready') supervisor.replace(handle, 'disconnected');
      else if (handle.state === 'starting' || handle.state === 'held') supervisor.startFailed(handle, { kind: 'exit', code: null, signal: null });
    });
  }

  #onExit(handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    const supervisor = this.#supervisor;
    const { host } = supervisor;
    const previousState = handle.state;
    handle.markExited(code, signal);
    supervisor.handles.delete(handle.worker);
    if (host.emitting) host.emit('exit', handle.worker, code, signal);
    const slot = supervisor.slot(handle.slot);
    const batch = handle.batch;
    if (batch?.holds) {
      handle.batch = null;
      if (slot?.next === handle) slot.next = null;
      batch.waiter.fail(handle, { kind: 'exit', code, signal });
      return;
    }
    if (previousState === 'starting') {
      supervisor.startFailed(handle, { kind: 'exit', code, signal });
      return;
    }
    if (slot && slot.active === handle) {
      slot.active = null;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
      // A worker that had not stayed up long enough to be healthy counts towards the backoff.
      supervisor.reconcile(slot, { kind: 'lost', previous: handle, why: `worker ${handle.pid ?? '?'} in slot ${slot.index} ${how}` });
    }
  }
}

/** A count a worker reported: a non-negative integer, or null. */
function count(value: unknown): number | null {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : null;
}
