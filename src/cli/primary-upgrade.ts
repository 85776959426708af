// The command's side of upgrading its primary (SIGUSR1, `qilin upgrade`, POST /upgrade): one at a time, refused where it cannot work, logged; once the new primary serves, this one hands over and retires its workers.
import type { AdminServer } from '../admin/server.js';
import type { Cluster } from '../cluster.js';
import { QilinError } from '../errors.js';
import type { LogEvent } from './format.js';
import type { Plan } from './settings.js';
import type { SignalController } from './signals.js';
import { SLOW_UPGRADE_NOTICE, newPrimaryCommand, startNewPrimary } from './upgrade.js';

/** What the new primary gets, beyond its workers' readiness, to read its config and open its admin interface. */
const STARTUP_ALLOWANCE = 15_000;

export class PrimaryUpgrade {
  readonly #argv: readonly string[];
  readonly #plan: Plan;
  readonly #cluster: Cluster;
  readonly #signals: SignalController;
  readonly #admin: AdminServer | null;
  readonly #log: (event: LogEvent) => void;
  #underWay: Promise<{ pid: number }> | null = null;
  /** A new primary serves on this one's sockets: this one is only retiring its workers. */
  handedOver = false;

  constructor(argv: readonly string[], plan: Plan, cluster: Cluster, signals: SignalController, admin: AdminServer | null, log: (event: LogEvent) => void) {
    this.#argv = argv;
    this.#plan = plan;
    this.#cluster = cluster;
    this.#signals = signals;
    this.#admin = admin;
    this.#log = log;
  }

  /** Starts an upgrade (or joins the one under way); resolves with the new primary's pid once it serves. */
  start(): Promise<{ pid: number }> {
    if (this.#underWay) return this.#underWay;
    const refusal = this.#refusal();
    if (refusal !== null) {
      this.#log({ event: 'upgradeFailed', reason: refusal });
      return Promise.reject(new QilinError('ERR_QILIN_UPGRADE_FAILED', `Cannot upgrade the primary: ${refusal}`));
    }
    const { command, script } = newPrimaryCommand();
    this.#log({ event: 'upgradeStart', command, script });
    const readyTimeout = this.#cluster.options.readyTimeout ?? 60_000;
    const timeoutMs = readyTimeout + STARTUP_ALLOWANCE;
    const onSlow = (pid: number | undefined, running: boolean): void =>
      this.#log({ event: 'upgradeSlow', pid: pid ?? null, running, waitedMs: SLOW_UPGRADE_NOTICE, timeoutMs });
    this.#underWay = startNewPrimary({ argv: this.#argv, admin: this.#admin?.listeningSocket() ?? null, timeoutMs, onSlow }).then(
      ({ pid, forward }) => {
        this.handedOver = true;
        this.#log({ event: 'upgraded', pid });
        // Its file stays where it is: the new primary's admin interface listens on this very socket.
        this.#admin?.handOver();
        // The retiring workers' idle keep-alive connections go on to the new primary's workers, not closed.
        this.#cluster.forwardHandovers(forward);
        void this.#signals.shutdown();
        return { pid };
      },
      (error: unknown) => {
        this.#underWay = null;
        const reason = error instanceof Error ? error.message : String(error);
        this.#log({ event: 'upgradeFailed', reason });
        throw new QilinError('ERR_QILIN_UPGRADE_FAILED', `The upgrade failed: ${reason}; this primary keeps serving`, { cause: error });
      },
    );
    return this.#underWay;
  }

  /** Why an upgrade cannot be done now, or null. */
  #refusal(): string | null {
    if (this.#signals.stopping) return 'qilin is shutting down';
    if (!this.#cluster.options.runtime) {
      return 'it needs the worker runtime, with which the primary owns the listening sockets it hands over (restart qilin to upgrade it with runtime: false)';
    }
    if (this.#cluster.activeWorkers().every((worker) => worker === null)) return 'no worker serves yet';
    if (this.#plan.app === '') return 'no app';
    return null;
  }
}
