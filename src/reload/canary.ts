// Judging a canary: the new generation's one worker against the workers it would replace, over the same window. Pure.
import type { ResponseCounts } from '../protocol.js';

/** What a canary and the previous generation's workers answered during the canary window. */
export interface CanaryWindow {
  readonly canary: ResponseCounts;
  readonly previous: ResponseCounts;
  readonly durationMs: number;
}

export type CanaryVerdict = { readonly passed: true } | { readonly passed: false; readonly reason: string };

/** A share of responses as a percentage for people: `2 of 40 (5%)`. */
export function describeShare({ responses, errors }: ResponseCounts): string {
  if (responses === 0) return 'no responses';
  const percent = (errors / responses) * 100;
  const shown = percent === 0 || percent >= 10 ? percent.toFixed(0) : percent.toFixed(1);
  return `${errors} of ${responses} with a 5xx status (${shown}%)`;
}

const rate = ({ responses, errors }: ResponseCounts): number => (responses > 0 ? errors / responses : 0);

/** The counts since `before`, for a worker that has answered `after` by now. */
export function countsSince(before: ResponseCounts, after: ResponseCounts): ResponseCounts {
  return { responses: Math.max(0, after.responses - before.responses), errors: Math.max(0, after.errors - before.errors) };
}

export function sumCounts(all: readonly ResponseCounts[]): ResponseCounts {
  return all.reduce((sum, c) => ({ responses: sum.responses + c.responses, errors: sum.errors + c.errors }), { responses: 0, errors: 0 });
}

/**
 * The canary fails when its share of 5xx responses is above the previous generation's share over the same
 * window by more than `allowedRise` (0.01: one percentage point), and at least one of its responses was a
 * 5xx. A canary that answered nothing passes: there is nothing to hold against it (a longer window, or
 * traffic, gives it something to be judged by).
 */
export function judgeCanary(window: CanaryWindow, allowedRise: number): CanaryVerdict {
  const { canary, previous } = window;
  if (canary.errors === 0 || rate(canary) <= rate(previous) + allowedRise) return { passed: true };
  const limit = (rate(previous) + allowedRise) * 100;
  return {
    passed: false,
    reason:
      `it answered ${describeShare(canary)} in ${Math.round(window.durationMs)} ms, against ${describeShare(previous)} ` +
      `from the previous generation, above the ${limit >= 10 ? limit.toFixed(0) : limit.toFixed(1)}% allowed (canaryErrorRate)`,
  };
}
