// Prometheus metrics of one cluster, in a registry of its own: workers by state, restarts, crashes, reloads, per-worker CPU, memory and HTTP responses, and the primary's process metrics.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Cluster } from '../cluster.js';
import type { ClusterEvents } from '../events.js';
import { WORKER_STATES, type WorkerState } from '../supervisor/lifecycle.js';
import { servingOf } from './answers.js';
import type { UsageSampler } from './usage.js';

/** States a live worker can be in; each is reported, at 0 when no worker is in it. */
const LIVE_STATES: readonly WorkerState[] = WORKER_STATES.filter((state) => state !== 'exited');

/** Reloads take from a fraction of a second to minutes (with `timeout` and rolling batches). */
const RELOAD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** prom-client, loaded when the admin server starts: a primary without the admin interface never loads it. */
export type PromClient = typeof import('prom-client');

export class AdminMetrics {
  /** A private registry: the app's own use of prom-client's global registry is left alone. */
  readonly registry: Registry;
  readonly #cluster: Cluster;
  readonly #sampler: UsageSampler;
  readonly #reloadStarts = new Map<number, number>();

  readonly #workers: Gauge<'state'>;
  readonly #slots: Gauge;
  readonly #readySlots: Gauge;
  readonly #generation: Gauge;
  readonly #restarts: Counter<'slot'>;
  readonly #crashes: Counter<'slot'>;
  readonly #reloads: Counter<'outcome'>;
  readonly #reloadDuration: Histogram<'outcome'>;
  readonly #cpu: Gauge<'slot' | 'pid' | 'generation'>;
  readonly #memory: Gauge<'slot' | 'pid' | 'generation'>;
  readonly #responses: Counter<'slot' | 'pid' | 'generation'>;
  readonly #connections: Gauge<'slot' | 'pid' | 'generation'>;
  readonly #errors: Counter<'slot' | 'pid' | 'generation'>;
  readonly #countWait: number;

  constructor(prom: PromClient, cluster: Cluster, sampler: UsageSampler, countWait: number) {
    const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = prom;
    this.registry = new Registry();
    this.#cluster = cluster;
    this.#sampler = sampler;
    const registers = [this.registry];
    this.#workers = new Gauge({ name: 'qilin_workers', help: 'Worker processes by state', labelNames: ['state'], registers });
    this.#slots = new Gauge({ name: 'qilin_slots', help: 'Worker slots configured', registers });
    this.#readySlots = new Gauge({ name: 'qilin_slots_ready', help: 'Slots served by a ready worker', registers });
    this.#generation = new Gauge({ name: 'qilin_generation', help: 'Generation of the code serving now (one more per successful reload)', registers });
    this.#restarts = new Counter({
      name: 'qilin_worker_restarts_total',
      help: 'Times a slot was given a new worker after losing one',
      labelNames: ['slot'],
      registers,
    });
    this.#crashes = new Counter({
      name: 'qilin_worker_crashes_total',
      help: 'Workers that died, failed to start or had an uncaught exception without being asked to stop',
      labelNames: ['slot'],
      registers,
    });
    this.#reloads = new Counter({ name: 'qilin_reloads_total', help: 'Reloads by outcome', labelNames: ['outcome'], registers });
    this.#reloadDuration = new Histogram({
      name: 'qilin_reload_duration_seconds',
      help: 'Time from the start of a reload until it succeeded or was aborted',
      labelNames: ['outcome'],
      buckets: RELOAD_BUCKETS,
      registers,
    });
    // One series per worker process. The counters start again at 0 under a new worker's pid, and are set from the worker's own counts.
    const perWorker = { labelNames: ['slot', 'pid', 'generation'] as const, registers };
    this.#cpu = new Gauge({ name: 'qilin_worker_cpu_percent', help: 'CPU of each worker, percent of one core', ...perWorker });
    this.#memory = new Gauge({ name: 'qilin_worker_memory_bytes', help: 'Resident memory of each worker', ...perWorker });
    this.#responses = new Counter({ name: 'qilin_worker_http_responses_total', help: 'HTTP responses each worker has written since it started', ...perWorker });
    this.#errors = new Counter({
      name: 'qilin_worker_http_5xx_responses_total',
      help: 'HTTP responses with a status of 500 or above each worker has written since it started',
      ...perWorker,
    });
    this.#connections = new Gauge({ name: 'qilin_worker_connections', help: 'TCP connections each worker holds open now', ...perWorker });
    this.#countWait = countWait;
    collectDefaultMetrics({ register: this.registry });
    for (const outcome of ['succeeded', 'failed']) this.#reloads.inc({ outcome }, 0);

    cluster.on('respawn', this.#onRespawn);
    cluster.on('reloadStart', this.#onReloadStart);
    cluster.on('reloadEnd', this.#onReloadEnd);
    cluster.on('reloadFailed', this.#onReloadFailed);
  }

  readonly #onRespawn = (...[slot, , previous]: ClusterEvents['respawn']): void => {
    this.#restarts.inc({ slot: String(slot) });
    // A slot is refilled with a previous worker only when that worker was lost, not retired.
    if (previous) this.#crashes.inc({ slot: String(slot) });
  };

  readonly #onReloadStart = (...[info]: ClusterEvents['reloadStart']): void => {
    this.#reloadStarts.set(info.generation, Date.now());
  };

  readonly #onReloadEnd = (...[result]: ClusterEvents['reloadEnd']): void => {
    this.#reloadStarts.delete(result.generation);
    this.#reloads.inc({ outcome: 'succeeded' });
    this.#reloadDuration.observe({ outcome: 'succeeded' }, result.durationMs / 1000);
  };

  readonly #onReloadFailed = (...[error]: ClusterEvents['reloadFailed']): void => {
    const started = this.#reloadStarts.get(error.generation);
    this.#reloadStarts.delete(error.generation);
    this.#reloads.inc({ outcome: 'failed' });
    if (started !== undefined) this.#reloadDuration.observe({ outcome: 'failed' }, (Date.now() - started) / 1000);
  };

  /** The metrics in Prometheus text format, with gauges measured now. */
  async render(): Promise<string> {
    const workers = this.#cluster.describe();
    const active = servingOf(workers, this.#cluster.activeWorkers().length);
    // The primary is measured too, though its own metrics come from prom-client, so that the sampler keeps
    // the same processes as /info does and CPU stays an average since the last look by either.
    const [usage, responses] = await Promise.all([
      this.#sampler.sample([process.pid, ...workers.flatMap((w) => (w.pid === undefined ? [] : [w.pid]))]),
      this.#cluster.responseCounts(this.#countWait),
    ]);

    this.#workers.reset();
    for (const state of LIVE_STATES) this.#workers.set({ state }, workers.filter((w) => w.state === state).length);
    this.#slots.set(active.length);
    this.#readySlots.set(active.filter((worker) => worker !== null).length);
    this.#generation.set(this.#cluster.generation);
    for (let slot = 0; slot < active.length; slot += 1) {
      this.#restarts.inc({ slot: String(slot) }, 0);
      this.#crashes.inc({ slot: String(slot) }, 0);
    }
    this.#cpu.reset();
    this.#memory.reset();
    this.#responses.reset();
    this.#errors.reset();
    this.#connections.reset();
    for (const worker of workers) {
      if (worker.pid === undefined) continue;
      const labels = { slot: String(worker.slot), pid: String(worker.pid), generation: String(worker.generation) };
      const measured = usage.get(worker.pid);
      if (measured) {
        this.#cpu.set(labels, measured.cpu);
        this.#memory.set(labels, measured.memory);
      }
      const counts = responses.get(worker.pid);
      if (counts) {
        this.#responses.inc(labels, counts.responses);
        this.#errors.inc(labels, counts.errors);
        if (counts.connections !== null) this.#connections.set(labels, counts.connections);
      }
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops counting the cluster's events. */
  close(): void {
    this.#cluster.off('respawn', this.#onRespawn);
    this.#cluster.off('reloadStart', this.#onReloadStart);
    this.#cluster.off('reloadEnd', this.#onReloadEnd);
    this.#cluster.off('reloadFailed', this.#onReloadFailed);
  }
}
