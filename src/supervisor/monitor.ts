// Watching workers while the cluster runs: heartbeats that catch a blocked event loop, relayed connections a worker never received, and uneven kept-alive connections (the rebalancer).
import { type ResolvedOptions, relays } from '../options.js';
import { formatSize } from '../units.js';
import { isStopping } from './lifecycle.js';
import { HARD_MEMORY_FACTOR, MAX_HEARTBEAT_INTERVAL, MEMORY_WATCH_INTERVAL, STUCK_HANDOFF } from './timing.js';
import type { SupervisorCore } from './core.js';
import { Rebalancer } from './rebalancer.js';
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
  #memory: NodeJS.Timeout | null = null;
  readonly #rebalancer: Rebalancer;

  constructor(supervisor: SupervisorCore) {
    this.#supervisor = supervisor;
    this.#rebalancer = new Rebalancer(supervisor);
  }

  start(): void {
    const supervisor = this.#supervisor;
    const { options, io } = supervisor;
    this.#rebalancer.start();
    if (relays(supervisor.host.balance) && options.runtime) {
      this.#handoffs = setInterval(() => {
        supervisor.relay.check(io.now());
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
    this.#rebalancer.stop();
    this.#stopMemory();
  }

  /**
   * `maxMemory` is a graceful limit: a worker above it keeps serving until its replacement is ready, then
   * drains. A leak goes on meanwhile (one measured at 200 MB/s reached 2.5 GB while it drained), so the primary
   * reads such a worker's memory itself every 50 ms, wherever its event loop is, and kills it above
   * HARD_MEMORY_FACTOR times `maxMemory` once it drains. (Where the primary cannot read it, the worker's own reports, once a
   * second, are what it goes by.)
   */
  watchMemory(handle: WorkerHandle): void {
    this.#checkMemory(handle, handle.rss);
    if (this.#memory !== null) return;
    const supervisor = this.#supervisor;
    this.#memory = setInterval(() => {
      const watched = [...supervisor.handles.values()].filter((h) => h.overMemory && h.alive);
      if (watched.length === 0) {
        this.#stopMemory();
        return;
      }
      for (const h of watched) {
        const rss = h.pid === undefined ? null : supervisor.io.residentMemory(h.pid);
        if (rss !== null) h.rss = rss;
        this.#checkMemory(h, rss);
      }
    }, MEMORY_WATCH_INTERVAL);
    this.#memory.unref();
  }

  #checkMemory(handle: WorkerHandle, rss: number | null): void {
    const { maxMemory } = handle.options;
    // Only a worker that no longer serves its slot (draining, retiring) is killed: one still serving waits for
    // its replacement, or its slot would be left without a worker, and its requests cut.
    if (maxMemory === null || rss === null || !isStopping(handle.state) || !handle.alive) return;
    const hard = Math.round(maxMemory * HARD_MEMORY_FACTOR);
    if (rss <= hard) return;
    handle.overMemory = false;
    handle.signal('SIGKILL');
    this.#supervisor.host.log(
      'respawns',
      `worker ${handle.pid ?? '?'} in slot ${handle.slot} uses ${formatSize(rss)}, above its hard limit of ${formatSize(hard)} (${HARD_MEMORY_FACTOR} × maxMemory): killed`,
    );
  }

  #stopMemory(): void {
    if (this.#memory) clearInterval(this.#memory);
    this.#memory = null;
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
