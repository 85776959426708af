// A reload's canary: one worker of the new generation, in a slot of its own, serves beside every worker of the previous one for `canary`; the reload goes on only if it did no worse than they did over the same window.
import type { FailedStart } from '../errors.js';
import type { ResponseCounts } from '../protocol.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';
import { describeCanaryEnd, describeCanaryStart } from '../notices.js';
import { type CanaryVerdict, countsSince, judgeCanary, sumCounts } from './canary.js';
import type { ReloadPlan, ReloadReporter } from './plan.js';

/** How long the primary waits for a worker to tell its counts: a worker that cannot answer in this time is left out. */
const COUNT_WAIT = 2_000;

/** Every worker serving now that belongs to another generation than `generation`: the ones the canary is held against. */
function previousWorkers(supervisor: Supervisor, generation: number): WorkerHandle[] {
  const found: WorkerHandle[] = [];
  for (let index = 0; index < supervisor.slotCount; index += 1) {
    const active = supervisor.slot(index)?.active;
    if (active && active.generation !== generation && active.state === 'ready') found.push(active);
  }
  return found;
}

/** How often the window looks at whether the canary still serves (a crash makes it drain, then exit). */
const SERVING_CHECK = 200;

/** Resolves when the window has passed or the canary has stopped serving; rejects with the reason if the reload is aborted. */
function serveWindow(canary: WorkerHandle, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = (): void => {
      clearTimeout(timer);
      clearInterval(check);
      signal.removeEventListener('abort', aborted);
    };
    const done = (): void => {
      end();
      resolve();
    };
    const aborted = (): void => {
      end();
      reject(signal.reason);
    };
    const timer = setTimeout(done, ms);
    const check = setInterval(() => {
      if (canary.state !== 'ready') done();
    }, SERVING_CHECK);
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/** Why a canary that stopped serving during its window did, in words. */
function stoppedServing(canary: WorkerHandle): string {
  if (canary.replacing === 'crashed') return 'it had an uncaught exception while it served as the canary';
  if (canary.state === 'exited') {
    const how = canary.exitSignal ? `was killed by ${canary.exitSignal}` : `exited with code ${canary.exitCode ?? 'unknown'}`;
    return `it ${how} while it served as the canary`;
  }
  return `it stopped serving while it served as the canary (${canary.replacing ?? canary.state})`;
}

/**
 * Starts the canary in slot `index` (a slot with no worker), lets it serve for `plan.options.canary` ms beside
 * the previous generation, and judges it. Resolves with null when it passed (it keeps serving in its slot,
 * which the reload removes at its end), or with the failure; the caller removes the slot either way.
 */
export async function runCanary(supervisor: Supervisor, reporter: ReloadReporter, plan: ReloadPlan, index: number): Promise<FailedStart | null> {
  const { generation, options, signal } = plan;
  const windowMs = options.canary ?? 0;
  const failed = await supervisor.rollout([index], generation, signal, options);
  if (failed) return failed;
  const canary = supervisor.slot(index)?.active;
  if (!canary) return null;
  const previous = previousWorkers(supervisor, generation);
  // Keep-alive clients stay on the workers they are connected to: each is asked, once, to come back on a new
  // connection, which may then go to the canary as any new connection may.
  for (const handle of previous) handle.send({ cmd: 'qilin:recycle' });
  const started = Date.now();
  // The canary first, then the previous workers: what each has answered so far, null for one that did not say.
  const watched = [canary, ...previous];
  const before = await Promise.all(watched.map((handle) => handle.countResponses(COUNT_WAIT)));
  const startInfo = { generation, slot: index, pid: canary.pid, durationMs: windowMs };
  reporter.emit('canaryStart', startInfo);
  reporter.log('reloads', describeCanaryStart(startInfo));
  await serveWindow(canary, windowMs, signal);
  const durationMs = Date.now() - started;
  const [canaryCounts = null, ...previousCounts] = await Promise.all(
    watched.map(async (handle, i) => {
      const then = before[i];
      const now = then ? await handle.countResponses(COUNT_WAIT) : null;
      return then && now ? countsSince(then, now) : null;
    }),
  );
  const window = {
    canary: canaryCounts ?? { responses: 0, errors: 0 },
    previous: sumCounts(previousCounts.filter((c): c is ResponseCounts => c !== null)),
    durationMs,
  };
  const verdict: CanaryVerdict = canary.state !== 'ready' ? { passed: false, reason: stoppedServing(canary) } : judgeCanary(window, options.canaryErrorRate);
  const endInfo = { generation, slot: index, pid: canary.pid, passed: verdict.passed, reason: verdict.passed ? null : verdict.reason, ...window };
  reporter.emit('canaryEnd', endInfo);
  if (verdict.passed) {
    reporter.log('reloads', describeCanaryEnd(endInfo));
    return null;
  }
  // The failure is logged with the reload's, which says who serves now.
  return supervisor.failedStart(canary, { kind: 'canary', reason: verdict.reason });
}
