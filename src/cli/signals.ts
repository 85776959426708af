// What the command does on each signal: reload, graceful then forced shutdown, one worker more or less; never throws.
import { QilinError } from '../errors.js';
import type { LogEvent } from './format.js';

/** The part of a cluster the signals drive. */
export interface Controllable {
  reload(): Promise<unknown>;
  scale(workers: number): Promise<void>;
  shutdown(): Promise<void>;
  terminate(): Promise<void>;
}

/** The signals the command handles. */
export const HANDLED_SIGNALS = ['SIGUSR2', 'SIGHUP', 'SIGTERM', 'SIGINT', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'] as const;
export type HandledSignal = (typeof HANDLED_SIGNALS)[number];

/** How the command stopped. */
export interface Stopped {
  readonly forced: boolean;
}

/** A caller of `scale()` waiting for its number of workers to be applied. */
interface ScaleWaiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Maps signals to cluster calls, the way Unicorn, Puma and Gunicorn taught operators:
 * SIGUSR2 and SIGHUP reload (the cluster merges reloads asked for while one runs); SIGTERM and SIGINT shut
 * down gracefully, and a second one kills every worker; SIGTTIN and SIGTTOU add and remove one worker.
 * Scale requests are applied one at a time towards the newest target, so a burst of them makes no
 * overlapping calls. Nothing here throws or leaves a rejection unhandled: a signal storm cannot crash the primary.
 * Requests that come another way (the admin interface) go through `scale()` and `shutdown()`, so they and
 * the signals share one target and one shutdown.
 */
export class SignalController {
  readonly #cluster: Controllable;
  readonly #log: (event: LogEvent) => void;
  #target: number;
  #applied: number;
  #scaling: Promise<void> | null = null;
  #waiters: ScaleWaiter[] = [];
  #stopping = false;
  /** A SIGTERM or SIGINT has asked for the shutdown under way, so the next one forces it. */
  #signalled = false;
  #forced = false;
  readonly #onStopping: (() => void)[] = [];
  #upgrade: () => Promise<unknown> = () => Promise.reject(new QilinError('ERR_QILIN_UPGRADE_FAILED', 'Upgrading the primary is not set up'));
  readonly stopped: Promise<Stopped>;
  #resolveStopped!: (value: Stopped) => void;

  constructor(cluster: Controllable, workers: number, log: (event: LogEvent) => void) {
    this.#cluster = cluster;
    this.#log = log;
    this.#target = workers;
    this.#applied = workers;
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** The number of workers asked for, including scale requests not yet applied. */
  get target(): number {
    return this.#target;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  handle(signal: HandledSignal): void {
    try {
      switch (signal) {
        case 'SIGUSR2':
        case 'SIGHUP':
          if (this.#ignoredWhileStopping(signal)) return;
          this.#log({ event: 'signal', signal, action: 'reload' });
          this.#cluster.reload().catch(() => {
            // The outcome is logged from the cluster's reloadEnd / reloadFailed events.
          });
          return;
        case 'SIGTERM':
        case 'SIGINT':
          // Only a second signal forces. A shutdown asked for another way (`qilin stop`, `POST /quit`) is
          // followed by a supervisor's first SIGTERM (systemd's ExecStop, docker stop): that one just joins it.
          if (!this.#stopping || !this.#signalled) this.#shutdown(signal);
          else if (!this.#forced) this.#force(signal);
          return;
        case 'SIGUSR1':
          if (this.#ignoredWhileStopping(signal)) return;
          this.#log({ event: 'signal', signal, action: 'upgrade' });
          this.#upgrade().catch(() => {
            // The outcome is logged by the upgrade itself.
          });
          return;
        case 'SIGTTIN':
          if (!this.#ignoredWhileStopping(signal)) this.#scaleTo(this.#target + 1, signal, 'scaleUp');
          return;
        case 'SIGTTOU':
          if (this.#ignoredWhileStopping(signal)) return;
          if (this.#target <= 1) {
            this.#log({ event: 'warning', message: `${signal}: already at ${this.#target} worker${this.#target === 1 ? '' : 's'}; not going lower` });
            return;
          }
          this.#scaleTo(this.#target - 1, signal, 'scaleDown');
          return;
      }
    } catch (error) {
      this.#log({ event: 'error', message: `${signal}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  /** Stops gracefully without a signal (after a fatal error, or asked by the admin interface); resolves once stopped. */
  shutdown(): Promise<Stopped> {
    if (!this.#stopping) this.#shutdown(null);
    return this.stopped;
  }

  /**
   * Scales to `workers` without a signal (asked by the admin interface), in turn with scale requests from
   * signals: the newest target wins. Resolves once the cluster has applied it (or a newer target), rejects
   * with the cluster's error if it refused, or if the command is stopping.
   */
  scale(workers: number): Promise<void> {
    // A wrong number, or a request during a shutdown, is refused by the cluster with its own reason.
    if (this.#stopping || !Number.isInteger(workers) || workers < 0) return this.#cluster.scale(workers);
    this.#target = workers;
    if (this.#applied === workers && !this.#scaling) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#startScaling();
    return done;
  }

  /** What SIGUSR1 does: upgrade the primary. */
  onUpgrade(upgrade: () => Promise<unknown>): void {
    this.#upgrade = upgrade;
  }

  /** Calls `listener` once, when the command begins to stop (a graceful shutdown, or a forced one). */
  onStopping(listener: () => void): void {
    this.#onStopping.push(listener);
  }

  #beginStopping(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const listener of this.#onStopping.splice(0)) {
      try {
        listener();
      } catch {
        // A listener's failure must not keep the command from stopping.
      }
    }
  }

  /** A reload applied a new worker count (the config file's `workers` changed): it is the count SIGTTIN and SIGTTOU start from now. */
  resized(workers: number): void {
    this.#target = workers;
    this.#applied = workers;
  }

  /** Kills every worker now (the app cannot start). */
  terminate(): Promise<Stopped> {
    if (!this.#forced) this.#force(null);
    return this.stopped;
  }

  #ignoredWhileStopping(signal: string): boolean {
    if (!this.#stopping) return false;
    this.#log({ event: 'signal', signal, action: 'ignored' });
    return true;
  }

  #shutdown(signal: string | null): void {
    if (signal) {
      this.#signalled = true;
      this.#log({ event: 'signal', signal, action: 'shutdown' });
    }
    if (this.#stopping) return;
    this.#beginStopping();
    this.#cluster.shutdown().then(
      () => this.#resolveStopped({ forced: false }),
      () => this.#resolveStopped({ forced: false }),
    );
  }

  #force(signal: string | null): void {
    this.#beginStopping();
    this.#forced = true;
    if (signal) this.#log({ event: 'signal', signal, action: 'force' });
    this.#cluster.terminate().then(
      () => this.#resolveStopped({ forced: true }),
      () => this.#resolveStopped({ forced: true }),
    );
  }

  #scaleTo(workers: number, signal: string, action: 'scaleUp' | 'scaleDown'): void {
    this.#target = workers;
    this.#log({ event: 'signal', signal, action, workers });
    this.#startScaling();
  }

  #startScaling(): void {
    if (this.#scaling) return;
    this.#scaling = this.#applyScale().finally(() => {
      this.#scaling = null;
      // A request that came in as the last call ended is served (or answered) by one more pass.
      if ((this.#applied !== this.#target && !this.#stopping) || this.#waiters.length > 0) this.#startScaling();
    });
  }

  async #applyScale(): Promise<void> {
    await Promise.resolve();
    let failure: { error: unknown } | null = null;
    while (this.#applied !== this.#target && !this.#stopping) {
      const want = this.#target;
      const waiters = this.#waiters.splice(0);
      try {
        await this.#cluster.scale(want);
        failure = null;
        for (const waiter of waiters) waiter.resolve();
        if (this.#stopping) break;
        this.#log({ event: 'scaled', workers: want });
      } catch (error) {
        failure = { error };
        for (const waiter of waiters) waiter.reject(error);
        if (this.#stopping) break;
        this.#log({ event: 'warning', message: `scaling to ${want} workers: ${error instanceof Error ? error.message : String(error)}` });
      }
      this.#applied = want;
    }
    // Whoever asked, while the last call ran, for the number it was applying shares its outcome.
    for (const waiter of this.#waiters.splice(0)) {
      if (this.#stopping) waiter.reject(new QilinError('ERR_QILIN_SHUTTING_DOWN', 'Cannot scale: the cluster is shutting down'));
      else if (failure) waiter.reject(failure.error);
      else waiter.resolve();
    }
  }
}
