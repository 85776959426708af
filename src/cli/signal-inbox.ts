// The command's signals from its first moment to its exit: caught at once, held until the cluster can act on them, and never left to their default actions.
import { ChildCheck, checkChildren } from './child-check.js';
import { HANDLED_SIGNALS, type HandledSignal, type SignalController } from './signals.js';

const ignoreSignal = (): void => {};

export const isStop = (signal: HandledSignal): boolean => signal === 'SIGTERM' || signal === 'SIGINT';

/**
 * Signals are caught from the very start: left to their default actions, a SIGHUP or SIGUSR2 that comes while
 * the config loads would kill qilin, and a SIGTTIN would suspend it. Until the cluster runs they wait (a
 * reload or a scale means nothing before it), except a stop, which the controller takes as soon as it exists.
 */
export class SignalInbox {
  #controller: SignalController | null = null;
  #running = false;
  readonly #waiting: HandledSignal[] = [];
  readonly #childCheck = new ChildCheck(checkChildren);
  readonly #listeners: (readonly [HandledSignal, () => void])[];

  constructor() {
    this.#listeners = HANDLED_SIGNALS.map((signal) => {
      const listener = (): void => {
        this.#childCheck.signalled();
        const controller = this.#controller;
        if (controller && (this.#running || isStop(signal))) controller.handle(signal);
        else this.#waiting.push(signal);
      };
      process.on(signal, listener);
      return [signal, listener] as const;
    });
  }

  /** The signal controller exists: a stop that came meanwhile is taken now; the rest wait for the cluster to run. */
  connect(controller: SignalController): void {
    this.#controller = controller;
    for (const signal of this.#waiting.filter(isStop)) controller.handle(signal);
  }

  /** The cluster runs: reloads and scale requests that waited are taken now (the cluster runs them once its first start settles). */
  running(): void {
    this.#running = true;
    const controller = this.#controller;
    for (const signal of this.#waiting.splice(0)) if (controller && !isStop(signal)) controller.handle(signal);
  }

  /**
   * The command is done: its signals stay caught, and are ignored, until the process exits. A SIGUSR2 or SIGHUP
   * left to its default action in the moment between the last log line and the exit kills qilin (status 140 or
   * 129 instead of 0), and a SIGTTIN or SIGTTOU stops it, with its exit never reported. The listener that
   * ignores them is added before the command's are removed, so no signal ever finds the default action in place.
   */
  holdUntilExit(): void {
    for (const [signal, listener] of this.#listeners) {
      process.on(signal, ignoreSignal);
      process.off(signal, listener);
    }
    this.#childCheck.stop();
  }
}
