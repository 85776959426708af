// A worker process without a process: what the supervisor sees of a node:cluster Worker, driven by the test.
import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { SupervisorHost } from '../../src/supervisor/host.js';
import type { ForkSpec } from '../../src/supervisor/fork.js';
import { type ClusterOptions, resolveOptions } from '../../src/options.js';

let nextPid = 1000;

export class FakeWorker extends EventEmitter {
  readonly id: number;
  readonly spec: ForkSpec;
  /** Messages the primary sent, in order. */
  readonly sent: unknown[] = [];
  /** Signals the primary sent, in order. */
  readonly signals: NodeJS.Signals[] = [];
  connected = true;
  exitedAfterDisconnect = false;
  /** The child process: its pid, stderr and signals, and node:cluster's internal messages (an emitter, as a ChildProcess is). */
  readonly process: EventEmitter & { pid: number; stderr: PassThrough; kill: (signal: NodeJS.Signals) => boolean };

  constructor(spec: ForkSpec) {
    super();
    nextPid += 1;
    this.id = nextPid;
    this.spec = spec;
    const kill = (signal: NodeJS.Signals): boolean => {
      this.signals.push(signal);
      return true;
    };
    this.process = Object.assign(new EventEmitter(), { pid: nextPid, stderr: new PassThrough(), kill });
  }

  get slot(): number {
    return Number(this.spec.env.WORKER_ID);
  }

  get generation(): number {
    return Number(this.spec.env.QILIN_GENERATION);
  }

  isConnected(): boolean {
    return this.connected;
  }

  send(message: unknown, _handle?: unknown, callback?: () => void): boolean {
    this.sent.push(message);
    callback?.();
    return true;
  }

  disconnect(): void {
    this.exitedAfterDisconnect = true;
    this.sent.push('disconnect()');
  }

  // --- what the worker does -----------------------------------------------------------------------

  /** The runtime loaded: online, then its hello. */
  boot(): this {
    this.emit('online');
    this.emit('message', { cmd: 'qilin:hello' });
    return this;
  }

  listen(port = 8000): this {
    this.emit('listening', { address: '::', port, addressType: 6 });
    return this;
  }

  say(message: unknown): this {
    this.emit('message', message);
    return this;
  }

  /** Closes its IPC channel by itself (`cluster.worker.disconnect()`). */
  leave(): this {
    this.connected = false;
    this.exitedAfterDisconnect = true;
    this.emit('disconnect');
    return this;
  }

  exit(code: number | null = 0, signal: NodeJS.Signals | null = null): this {
    this.connected = false;
    this.emit('disconnect');
    this.emit('exit', code, signal);
    return this;
  }

  asWorker(): Worker {
    return this as unknown as Worker;
  }
}

/** A host whose forks are fake workers, whose events and log lines are kept, and whose clock is Date.now (mocked in tests). */
export function fakeHost(options: ClusterOptions = {}) {
  const forks: FakeWorker[] = [];
  /** What the primary reads of each fake worker's memory, by pid. */
  const memory = new Map<number, number>();
  const events: [string, ...unknown[]][] = [];
  const lines: string[] = [];
  const state = { running: true, emitting: true };
  const host: SupervisorHost = {
    file: '/app/server.js',
    options: resolveOptions({ workers: 2, log: false, ...options }, {}),
    get running() {
      return state.running;
    },
    get emitting() {
      return state.emitting;
    },
    balance: 'kernel',
    emit: (event, ...args) => events.push([event, ...args]),
    log: (_category, line) => lines.push(line),
    io: {
      fork: (spec) => {
        const worker = new FakeWorker(spec);
        forks.push(worker);
        return worker.asWorker();
      },
      now: () => Date.now(),
      copyStderr: () => {},
      residentMemory: (pid) => memory.get(pid) ?? null,
    },
  };
  /** The events of one kind, without their name. */
  const seen = (name: string): unknown[][] => events.filter(([event]) => event === name).map(([, ...args]) => args);
  return { host, forks, events, lines, state, seen, memory };
}
