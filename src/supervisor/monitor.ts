// Watching workers while the cluster runs: heartbeats that catch a blocked event loop, and round-robin handoffs a worker never received.
import type { ResolvedOptions } from '../options.js';
import { MAX_HEARTBEAT_INTERVAL, STUCK_HANDOFF } from './timing.js';
import type { SupervisorCore } from './core.js';
import type { WorkerHandle } from './worker-handle.js';

/**
 * Three heartbeats per `heartbeatTimeout`, at most one every 10 s. Each is an IPC message, and under load a
 * worker that sends one a second spends measurably more CPU per request (docs/runtime.md, Costs).
 */
export function heartbeatInterval(options: Pick<ResolvedOptions, 'runtime' | 'heartbeatTimeout'>): number {
  const { runtime, heartbeatTimeout } = options;
  if (!runtime || heartbeatTimeout === null) return 0;
  return Math.min(MAX_HEARTBEAT_INTERVAL, Math.max(50, Math.floor(heartbeatTimeout / 3)));
}

export class Monitor {
  readonly #supervisor: SupervisorCore;
  #heartbeats: NodeJS.Timeout | null = null;
  #handoffs: NodeJS.Timeout | null = null;

  constructor(supervisor: SupervisorCore) {
    this.#supervisor = supervisor;
  }

  start(): void {
    const supervisor = this.#supervisor;
    const { options, io } = supervisor;
    if (supervisor.host.balance === 'round-robin' && options.runtime) {
      this.#handoffs = setInterval(() => {
        for (const handle of supervisor.handles.values()) handle.handoffs?.check(STUCK_HANDOFF, io.now());
      }, STUCK_HANDOFF / 4);
      this.#handoffs.unref();
    }
    if (options.heartbeatTimeout === null) return;
    const every = Math.min(1_000, Math.max(50, Math.floor(options.heartbeatTimeout / 4)));
    let lastCheck = io.now();
    this.#heartbeats = setInterval(() => {
      const now = io.now();
      const late = now - lastCheck - every;
      lastCheck = now;
      if (late > every) {
        // The primary itself was not running (the machine or container was suspended, or its own event loop
        // was blocked): the heartbeats sent meanwhile are still unread, so silence proves nothing. Start over.
        for (const handle of supervisor.handles.values()) handle.lastHeartbeat = now;
        return;
      }
      for (const handle of supervisor.handles.values()) {
        if (handle.hasRuntime && handle.state === 'ready' && this.silent(handle, now)) supervisor.replace(handle, 'unresponsive');
      }
    }, every);
    this.#heartbeats.unref();
  }

  stop(): void {
    if (this.#heartbeats) clearInterval(this.#heartbeats);
    if (this.#handoffs) clearInterval(this.#handoffs);
    this.#heartbeats = null;
    this.#handoffs = null;
  }

  /**
   * Whether a worker's heartbeat is overdue. The next heartbeat is due `interval` after the last one: only the
   * time past that counts as blocked, so a worker is replaced once its event loop has been stuck for at least
   * heartbeatTimeout.
   */
  silent(handle: WorkerHandle, now = this.#supervisor.io.now()): boolean {
    const { heartbeatTimeout } = this.#supervisor.options;
    return heartbeatTimeout !== null && now - handle.lastHeartbeat > heartbeatTimeout + heartbeatInterval(this.#supervisor.options);
  }
}
