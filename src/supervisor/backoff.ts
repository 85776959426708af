// Per-slot respawn delays: the first respawn waits `respawn`, each further one without a healthy worker in between waits twice as long, up to `backoff`.

export interface BackoffPolicy {
  /** First delay, in milliseconds. */
  readonly respawn: number;
  /** Cap of the growth, in milliseconds; 0 turns the growth off. */
  readonly backoff: number;
}

/** With `respawn` at 0 there is nothing to double; growth then starts from this many milliseconds. */
export const MIN_GROWTH_BASE = 100;

/** Delay before a respawn, given how many respawns this slot has had since its last healthy worker. */
export function respawnDelay(policy: BackoffPolicy, attempts: number): number {
  if (policy.backoff <= 0 || attempts <= 0) return policy.respawn;
  const base = policy.respawn > 0 ? policy.respawn : MIN_GROWTH_BASE;
  return Math.min(Math.max(policy.backoff, policy.respawn), base * 2 ** attempts);
}

/** A policy read afresh at each delay from `current()`: the settings serving now (a reload may bring new ones). */
export function livePolicy(current: () => BackoffPolicy): BackoffPolicy {
  return {
    get respawn() {
      return current().respawn;
    },
    get backoff() {
      return current().backoff;
    },
  };
}

/** How long a worker must stay ready before its slot's delays start again from `respawn`. */
export function healthyAfter(policy: BackoffPolicy): number {
  return Math.max(policy.backoff, 1_000);
}

/** The respawn state of one slot. Each slot has its own, so one crashing slot never delays another. */
export class SlotBackoff {
  readonly #policy: BackoffPolicy;
  #attempts = 0;

  constructor(policy: BackoffPolicy) {
    this.#policy = policy;
  }

  /** Respawns since the slot last had a healthy worker. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay for the next respawn, which is counted. */
  next(): number {
    const delay = respawnDelay(this.#policy, this.#attempts);
    this.#attempts += 1;
    return delay;
  }

  /** The slot's worker stayed healthy: the next respawn waits `respawn` again. */
  reset(): void {
    this.#attempts = 0;
  }
}
