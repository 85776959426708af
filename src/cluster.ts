// The cluster users hold: run, reload, scale and stop its workers, and the services that live beside them.
import nodeCluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { InvalidOptionError, QilinError, StartError } from './errors.js';
import type { ClusterEvents, ReloadResult } from './events.js';
import type { Balance, ReloadSettings, ResolvedOptions } from './options.js';
import type { WorkerCounts } from './protocol.js';
import { applyLeanPrimary } from './lean-primary.js';
import { asError, callBack, delay, quiet } from './promises.js';
import { ReloadQueue } from './reload/queue.js';
import { takeSocketsFor } from './sockets/activation.js';
import { runReload } from './reload/run.js';
import { NextSettings, type SettingsSource, isPlainObject } from './reload/settings.js';
import { applyBalance } from './supervisor/fork.js';
import type { SupervisorHost } from './supervisor/host.js';
import { Supervisor } from './supervisor/supervisor.js';
import { RUNTIME_PATH } from './supervisor/timing.js';
import { type WorkerInfo, countResponses } from './supervisor/worker-info.js';
import { MAX_WORKERS, isWorkerCount } from './worker-count.js';

export { STARTED_WINDOW } from './supervisor/timing.js';
export type { WorkerInfo } from './supervisor/worker-info.js';
export type { SettingsSource } from './reload/settings.js';

/**
 * Something that runs beside the workers for the cluster's lifetime, such as the file watcher or the admin
 * server: started by `run()` (or at once, if attached to a running cluster), stopped when the cluster stops.
 */
export interface ClusterService {
  start(cluster: Cluster): void | Promise<void>;
  stop(): void | Promise<void>;
}

type Status = 'new' | 'running' | 'stopping' | 'stopped';

export class Cluster extends EventEmitter<ClusterEvents> {
  /** Absolute path of the worker script. */
  readonly file: string;
  readonly #supervisor: Supervisor;
  readonly #nextSettings = new NextSettings();
  #status: Status = 'new';
  /** The highest generation started so far. */
  #generation = 0;
  #lock: Promise<unknown> = Promise.resolve();
  #firstStart: Promise<void> | null = null;
  #shutdown: Promise<void> | null = null;
  readonly #stopping = new AbortController();
  /** Aborted when the cluster stops managing (stop, terminate): a shutdown delay under way ends then. */
  readonly #halted = new AbortController();
  readonly #services: ClusterService[] = [];
  readonly #reloads: ReloadQueue<ReloadResult>;
  #balance: Balance | null = null;

  constructor(file: string, options: ResolvedOptions) {
    super();
    this.file = file;
    const cluster = this;
    const host: SupervisorHost = {
      file,
      options,
      get running() {
        return cluster.#status === 'running';
      },
      get balance() {
        return cluster.balance;
      },
      get emitting() {
        return cluster.#status !== 'stopped';
      },
      emit: (event, ...args) => {
        (this.emit as (e: typeof event, ...a: typeof args) => boolean)(event, ...args);
      },
      log: (category, line) => {
        const { log, logger } = this.options;
        if (log[category]) logger.log(`qilin: ${line}`);
      },
    };
    this.#supervisor = new Supervisor(host);
    this.#reloads = new ReloadQueue(() =>
      this.#exclusive(async () => {
        if (this.#status !== 'running') throw this.#notRunning('reload');
        const { options, workers } = await this.#nextSettings.take(this.options);
        if (this.#status !== 'running') throw this.#notRunning('reload');
        return runReload(this.#supervisor, host, { generation: ++this.#generation, options, workers, signal: this.#stopping.signal });
      }),
    );
  }

  /** The settings serving now: those the cluster was created with, or those of the last reload that brought new ones. */
  get options(): ResolvedOptions {
    return this.#supervisor.options;
  }

  /**
   * Where each reload reads its settings first (the `qilin` command re-reads its config file), before the
   * settings asked for by `reload(settings)`. It resolves with a whole set of options; those a reload cannot
   * change are kept as they are. A rejection aborts the reload with that error, and nothing changes.
   */
  readSettingsFrom(source: SettingsSource | null): void {
    this.#nextSettings.source = source;
  }

  /** How connections reach the workers: the `balance` option, or, once running, the one in force (see `run()`). */
  get balance(): Balance {
    return this.#balance ?? this.options.balance;
  }

  /** The generation serving now: 0 after `run()`, one more after each successful reload. */
  get generation(): number {
    return this.#supervisor.serving;
  }

  /** Forks one worker per slot. Resolves when every slot has a ready worker; rejects with a StartError if one fails first (the cluster keeps respawning). Calling it again returns the same promise. */
  run = (): Promise<void> => {
    if (!nodeCluster.isPrimary) return Promise.resolve();
    if (this.#status === 'stopping' || this.#status === 'stopped') {
      // A stopped cluster does not start again: answering with the first start's old outcome would report workers that are gone.
      return quiet(Promise.reject(new QilinError('ERR_QILIN_SHUTTING_DOWN', 'Cannot run: the cluster was stopped; create a new one')));
    }
    if (this.#firstStart) return this.#firstStart;
    if (this.options.runtime && !existsSync(RUNTIME_PATH)) {
      throw new QilinError('ERR_QILIN_NOT_RUNNING', `The worker runtime is missing at ${RUNTIME_PATH}; build the package, or pass runtime: false`);
    }
    this.#status = 'running';
    const policy = applyBalance(this.options.balance);
    // With the runtime the primary serves the workers' TCP listens itself, in either mode, whatever node:cluster's
    // policy: it only decides the listens the runtime leaves to node:cluster (a Unix socket path, reusePort...).
    this.#balance = this.options.runtime ? this.options.balance : policy;
    if (this.#balance !== policy && !this.options.runtime) {
      process.emitWarning(
        `balance '${this.options.balance}' cannot apply: node:cluster has one scheduling policy per process, fixed at its first fork, ` +
          `and something forked before this cluster with '${policy}'; with the worker runtime on, balance applies to every TCP listen`,
        { type: 'QilinWarning', code: 'QILIN_BALANCE_FIXED' },
      );
    }
    if (this.options.leanPrimary) applyLeanPrimary(this.#balance);
    takeSocketsFor(this.options.runtime);
    const supervisor = this.#supervisor;
    this.#firstStart = quiet(
      supervisor.scaleTo(this.options.workers).catch((error: unknown) => {
        if (error instanceof StartError) this.emit('error', error);
        throw error;
      }),
    );
    // Reloads and scale changes asked for during the first start wait for it: superseding a first worker
    // would leave this promise waiting for a worker that is gone. Nothing holds the lock yet (both refuse
    // before 'running'), so the workers are forked now, as before.
    this.#lock = this.#firstStart.catch(() => {});
    supervisor.startMonitor();
    for (const service of this.#services) this.#startService(service);
    return this.#firstStart;
  };

  /** Runs `service` for the cluster's lifetime: started with `run()` (or now, when running), stopped when the cluster stops. */
  attach = (service: ClusterService): void => {
    this.#services.push(service);
    if (this.#status === 'running') this.#startService(service);
  };

  /**
   * Replaces every worker with one running the code on disk now, per `strategy`. Resolves with the outcome;
   * rejects with a ReloadError when a new worker fails (the previous workers keep serving). A request made
   * while a reload runs is merged into one more reload after it. Safe as a signal listener: an argument
   * that is neither a plain object nor a function is ignored, and a rejection nobody awaits is not an
   * unhandled rejection.
   *
   * With `settings` (`reload({ workers: 4, env: { FEATURE: 'on' } })`), the new generation runs with them: the
   * options a reload can change (every option but `balance`, `runtime`, `heartbeatTimeout`, `watch` and
   * `admin`, which refuse), read as `recluster()` reads them. A wrong value rejects at once and nothing
   * reloads. Once the reload succeeds they are the cluster's settings (`options`); if it fails, the old ones
   * stay. Settings asked for while a reload runs go to the next one, merged.
   */
  reload: {
    (cb?: (error: Error | null, result?: ReloadResult) => void): Promise<ReloadResult>;
    (settings: ReloadSettings, cb?: (error: Error | null, result?: ReloadResult) => void): Promise<ReloadResult>;
  } = (settings?: unknown, cb?: unknown): Promise<ReloadResult> => {
    const callback = typeof settings === 'function' ? settings : cb;
    if (this.#status !== 'running') return callBack(Promise.reject(this.#notRunning('reload')), callback);
    if (isPlainObject(settings)) {
      // Checked now, so a wrong value is refused at once and never reaches a reload; read again when it runs,
      // over the settings serving then.
      try {
        this.#nextSettings.ask(this.options, settings);
      } catch (error) {
        return callBack(Promise.reject(error), callback);
      }
    }
    return callBack(this.#reloads.request(), callback);
  };

  /** Changes the number of slots at run time (0 to 1024): new slots get workers, the highest slots are retired gracefully. */
  scale = (workers: number): Promise<void> => {
    if (!isWorkerCount(workers)) {
      return quiet(Promise.reject(new InvalidOptionError('workers', `an integer from 0 to ${MAX_WORKERS}`, workers)));
    }
    if (this.#status !== 'running') return quiet(Promise.reject(this.#notRunning('scale')));
    return quiet(
      this.#exclusive(async () => {
        if (this.#status !== 'running') throw this.#notRunning('scale');
        await this.#supervisor.scaleTo(workers);
      }),
    );
  };

  /** Stops managing and kills every worker at once with SIGKILL (recluster's terminate). */
  terminate = (cb?: unknown): Promise<void> => {
    this.#halt();
    return callBack(this.#supervisor.killAll(), cb);
  };

  /** Stops managing: no more respawns, reloads or events. Workers keep running; workers already retiring are still stopped at their deadline. */
  stop = (): void => {
    this.#halt();
  };

  /** Graceful stop: every worker stops accepting, finishes its requests within `timeout`, then gets SIGTERM and, `killTimeout` later, SIGKILL. Resolves when every worker has exited. */
  shutdown = (): Promise<void> => {
    if (this.#shutdown) return this.#shutdown;
    let exited: Promise<void>;
    if (this.#status === 'running') {
      this.#status = 'stopping';
      this.#cancelWork(new QilinError('ERR_QILIN_SHUTTING_DOWN', 'The cluster is shutting down'));
      // The workers go on serving through the delay (no reload, scale or respawn now): only /readyz says the
      // cluster is going, so a load balancer stops sending new connections before any worker stops accepting.
      // `shutdownDelay`, cut short if the cluster is stopped or terminated meanwhile.
      exited = delay(this.options.shutdownDelay, this.#halted.signal).then(() =>
        this.#status === 'stopped' ? this.#supervisor.exited() : this.#supervisor.shutdown(),
      );
    } else {
      exited = this.#supervisor.exited();
    }
    this.#shutdown = quiet(exited.then(() => this.#halt()));
    return this.#shutdown;
  };

  /** The command's upgrade, in the old primary: idle connections no worker here can take go to `forward` (the new primary's), from now on. @internal */
  forwardHandovers(forward: (port: number, connection: { close(): void }) => boolean): void {
    this.#supervisor.handovers.forwardTo(forward);
  }

  /** The command's upgrade, in the new primary: an idle connection the old primary forwarded goes to a worker here. @internal */
  adoptHandover(port: number, connection: unknown): void {
    this.#supervisor.handovers.pass(this.#supervisor.handles.values(), port, connection, this.#status === 'running');
  }

  /** True from `shutdown()` (or a stop) on: the cluster is going, even while it still serves through `shutdownDelay`. */
  get stopping(): boolean {
    return this.#status === 'stopping' || this.#status === 'stopped';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Every worker process of this cluster that has not exited, including starting and retiring ones. */
  workers = (): Worker[] => [...this.#supervisor.handles.keys()];

  /**
   * The ready worker of each slot, indexed by slot (`WORKER_ID`); null where a slot has none, or where its
   * worker is being replaced (it asked to be, it is hung, above maxMemory): as in recluster, a worker stops
   * being active when its replacement is asked for. It still serves until the replacement is ready
   * (`describe()` shows it as `replacing`, `active: true`).
   */
  activeWorkers = (): (Worker | null)[] => this.#supervisor.activeWorkers();

  /** A snapshot of every worker, for status reports. */
  describe = (): WorkerInfo[] => this.#supervisor.describe();

  /**
   * Each live worker's HTTP responses since it started, and how many had a 5xx status, by pid, as its runtime
   * counts them (`http`, `https` and `http2` servers), and the TCP connections it holds open now (null from a
   * runtime that does not count them). A worker without the runtime, or that does not answer within
   * `withinMs` (its event loop is blocked), is left out.
   */
  responseCounts = (withinMs = 1_000): Promise<Map<number, WorkerCounts>> => countResponses(this.#supervisor.handles.values(), withinMs);

  /** Runs reloads and scale changes one at a time. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Ends respawns, the heartbeat check, pending reloads and the reload under way. */
  #cancelWork(reason: Error): void {
    this.#supervisor.cancel(reason);
    this.#reloads.cancelQueued(reason);
    if (!this.#stopping.signal.aborted) this.#stopping.abort(reason);
  }

  /** Stops managing. Timers of workers already retiring stay, so they are still stopped at their deadline. */
  #halt(): void {
    if (this.#status === 'stopped') return;
    this.#cancelWork(new QilinError('ERR_QILIN_SHUTTING_DOWN', 'The cluster was stopped'));
    this.#status = 'stopped';
    this.#halted.abort();
    for (const service of this.#services.splice(0)) {
      try {
        Promise.resolve(service.stop()).catch(() => {});
      } catch {
        // A service that fails to stop must not keep the cluster from stopping.
      }
    }
    this.#supervisor.halt();
  }

  #startService(service: ClusterService): void {
    try {
      Promise.resolve(service.start(this)).catch((error: unknown) => this.emit('error', asError(error)));
    } catch (error) {
      this.emit('error', asError(error));
    }
  }

  #notRunning(action: string): QilinError {
    if (this.#status === 'new') return new QilinError('ERR_QILIN_NOT_RUNNING', `Cannot ${action}: call run() first`);
    return new QilinError('ERR_QILIN_SHUTTING_DOWN', `Cannot ${action}: the cluster is ${this.#status}`);
  }
}
