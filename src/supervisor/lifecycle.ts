// A worker's life as the primary sees it: its states, the events that move it, and the one transition table. Pure.

/**
 * - `starting`: forked, not ready yet.
 * - `held`: ready, but a reload holds it until its whole batch is ready; then it takes over its slot.
 * - `ready`: serving its slot.
 * - `replacing`: still serving its slot while its replacement starts (it asked to be, it is hung, or above `maxMemory`).
 * - `draining`: it stopped accepting by itself (it crashed, or disconnected itself) and finishes what it has.
 * - `retiring`: the primary is stopping it: draining through the runtime, or waiting for SIGTERM and SIGKILL.
 * - `exited`: its process has exited.
 */
export type WorkerState = 'starting' | 'held' | 'ready' | 'replacing' | 'draining' | 'retiring' | 'exited';

/** Every state, in the order of a worker's life. */
export const WORKER_STATES: readonly WorkerState[] = ['starting', 'held', 'ready', 'replacing', 'draining', 'retiring', 'exited'];

/**
 * What happens to a worker:
 * - `ready`: it is ready per `readyWhen`, and takes its slot;
 * - `hold`: it is ready per `readyWhen`, and a reload holds it;
 * - `promote`: the reload that held it lets it take its slot;
 * - `replace`: its replacement is being started;
 * - `leave`: it stopped accepting by itself (an uncaught exception, or its own disconnect);
 * - `retire`: the primary stops it;
 * - `exit`: its process exited.
 */
export type WorkerEvent = 'ready' | 'hold' | 'promote' | 'replace' | 'leave' | 'retire' | 'exit';

export const WORKER_EVENTS: readonly WorkerEvent[] = ['ready', 'hold', 'promote', 'replace', 'leave', 'retire', 'exit'];

const TRANSITIONS: Readonly<Record<WorkerState, Partial<Record<WorkerEvent, WorkerState>>>> = {
  starting: { ready: 'ready', hold: 'held', leave: 'draining', retire: 'retiring', exit: 'exited' },
  held: { promote: 'ready', leave: 'draining', retire: 'retiring', exit: 'exited' },
  ready: { replace: 'replacing', leave: 'draining', retire: 'retiring', exit: 'exited' },
  replacing: { leave: 'draining', retire: 'retiring', exit: 'exited' },
  // A worker that left by itself is already draining on its own: a retirement changes nothing for it.
  draining: { exit: 'exited' },
  retiring: { exit: 'exited' },
  exited: {},
};

/** The state `event` moves a worker in `state` to, or null when the event means nothing in that state. */
export function transition(state: WorkerState, event: WorkerEvent): WorkerState | null {
  return TRANSITIONS[state][event] ?? null;
}

/**
 * The part of its life a state belongs to. A worker's timers belong to a phase and end with it: starting
 * (readyTimeout, the `started` window, the slow-start notice), serving (the healthy mark), stopping (SIGTERM,
 * SIGKILL).
 */
export type Phase = 'starting' | 'serving' | 'stopping' | 'gone';

const PHASES: Readonly<Record<WorkerState, Phase>> = {
  starting: 'starting',
  held: 'starting',
  ready: 'serving',
  replacing: 'serving',
  draining: 'stopping',
  retiring: 'stopping',
  exited: 'gone',
};

export function phaseOf(state: WorkerState): Phase {
  return PHASES[state];
}

/** True while the worker is being stopped or has left by itself: nothing more is asked of it. */
export function isStopping(state: WorkerState): boolean {
  return PHASES[state] === 'stopping' || state === 'exited';
}
