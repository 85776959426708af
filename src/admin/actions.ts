// What the admin interface's actions answer: the shapes of an answer, a refusal's status, and the actions a program may carry out its own way (the `qilin` command does).
import { QilinError, ReloadError } from '../errors.js';
import type { ReloadResult } from '../events.js';
import { type Envelope, reloadFailed, reloadSucceeded } from './answers.js';

/** One answer, before it is written. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Runs once the answer has been handed to the client. */
  readonly afterSent?: () => void;
}

export function json<T>(status: number, envelope: Envelope<T>, headers?: Answer['headers']): Answer {
  return { status, body: `${JSON.stringify(envelope, null, 2)}\n`, ...(headers ? { headers } : {}) };
}

export function failure(status: number, message: string, headers?: Answer['headers']): Answer {
  return json(status, { error: message, result: null }, headers);
}

/** The status that says why the cluster refused an action: it is stopping (503), or something else failed (500). */
export function refused(error: unknown): Answer {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof QilinError ? error.code : undefined;
  const unavailable = code === 'ERR_QILIN_SHUTTING_DOWN' || code === 'ERR_QILIN_NOT_RUNNING';
  return failure(unavailable ? 503 : 500, message);
}

/**
 * For an action not waited for: 202 with `result` once it is under way, or the refusal's answer when it was
 * refused (the cluster is stopping, or not running yet). A refusal rejects within the same turn of the event
 * loop, before any worker is touched; an action under way cannot fail that soon.
 */
function acceptedOrRefused(outcome: Promise<unknown>, result: object): Promise<Answer> {
  return new Promise((resolve) => {
    const underWay = setImmediate(() => resolve(json(202, { error: null, result })));
    outcome.catch((error: unknown) => {
      clearImmediate(underWay);
      resolve(refused(error));
    });
  });
}

/**
 * How the server carries out `/reload`, `/scale` and `/quit`. By default it calls the cluster; a program that
 * keeps its own account of the cluster (the `qilin` command, whose signals also scale and stop it) passes
 * its own, so requests from both sides go through one place. Each must settle the way the cluster's
 * method does: reject with the cluster's error when it refuses.
 */
export interface AdminActions {
  reload(): Promise<ReloadResult>;
  scale(workers: number): Promise<void>;
  shutdown(): Promise<void>;
  /** Upgrades the primary (the `qilin` command does): resolves with the new primary's pid once its workers serve. */
  upgrade?(): Promise<{ pid: number }>;
}

/** `/reload`: the reload's outcome (200, or 500 with the failed start), or 202 at once without `wait`. */
export async function reloadAnswer(actions: AdminActions, wait: boolean): Promise<Answer> {
  const outcome = actions.reload();
  // Nobody awaits the outcome of a reload that was not waited for; its failure is the cluster's reloadFailed event.
  outcome.catch(() => {});
  if (!wait) return acceptedOrRefused(outcome, { reloading: true });
  try {
    return json(200, { error: null, result: reloadSucceeded(await outcome) });
  } catch (error) {
    if (error instanceof ReloadError) return json(500, { error: error.message, result: reloadFailed(error) });
    return refused(error);
  }
}

/** `/scale`: 200 once applied, or 202 at once without `wait`. */
export async function scaleAnswer(actions: AdminActions, workers: number, wait: boolean): Promise<Answer> {
  const done = actions.scale(workers);
  done.catch(() => {});
  if (!wait) return acceptedOrRefused(done, { workers });
  try {
    await done;
    return json(200, { error: null, result: { workers } });
  } catch (error) {
    return refused(error);
  }
}
