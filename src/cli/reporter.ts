// Turns the cluster's and the file watcher's events into the command's log lines.
import type { Worker } from 'node:cluster';
import type { Cluster } from '../cluster.js';
import type { FileWatcher } from '../watch.js';
import type { LogEvent } from './format.js';

/** Lost round-robin handoffs of one worker are logged at most this often, in ms. */
const HANDOFFS_LOGGED_EVERY = 10_000;

/** Where log events go. */
export type Log = (event: LogEvent) => void;

interface Known {
  readonly slot: number;
  readonly generation: number;
}

/** Subscribes `log` to every lifecycle event of `cluster` (and `watcher`): workers up, ready, exits, respawns, reloads and their progress. */
export function reportEvents(cluster: Cluster, log: Log, watcher?: FileWatcher): void {
  const known = new WeakMap<Worker, Known>();
  let reload: { generation: number; slots: number; ready: number } | null = null;
  const pid = (worker: Worker): number | null => worker.process.pid ?? null;

  cluster.on('fork', (worker, slot, generation) => {
    known.set(worker, { slot, generation });
    log({ event: 'fork', slot, pid: pid(worker), generation });
  });
  cluster.on('ready', (worker) => {
    const k = known.get(worker);
    if (!k) return;
    log({ event: 'ready', slot: k.slot, pid: pid(worker), generation: k.generation });
    // A canary's slot is above the reload's: it is not one of the slots the reload fills.
    if (reload && k.generation === reload.generation && k.slot < reload.slots) {
      reload.ready += 1;
      log({ event: 'reloadProgress', generation: reload.generation, ready: reload.ready, slots: reload.slots });
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    log({
      event: 'exit',
      slot: known.get(worker)?.slot ?? null,
      pid: pid(worker),
      code,
      signal,
      retired: worker.exitedAfterDisconnect === true,
    });
  });
  cluster.on('respawn', (slot, delay) => log({ event: 'respawn', slot, delayMs: delay }));
  cluster.on('slowStart', (worker, info) => log({ event: 'slowStart', pid: pid(worker), ...info }));
  cluster.on('cut', (worker, info) => log({ event: 'cut', pid: pid(worker), ...info }));
  cluster.on('descriptors', (worker, info) => log({ event: 'descriptors', pid: pid(worker), ...info }));
  // While a worker stays out of descriptors, each handoff to it is lost in turn: one line per worker per 10 s, with the sum.
  const lost = new WeakMap<Worker, { loggedAt: number; count: number }>();
  cluster.on('handoffsLost', (worker, info) => {
    const seen = lost.get(worker) ?? { loggedAt: Number.NEGATIVE_INFINITY, count: 0 };
    lost.set(worker, seen);
    seen.count += info.count;
    const now = performance.now();
    if (now - seen.loggedAt < HANDOFFS_LOGGED_EVERY) return;
    log({ event: 'handoffsLost', pid: pid(worker), ...info, count: seen.count });
    seen.loggedAt = now;
    seen.count = 0;
  });
  cluster.on('replace', (worker, reason) => log({ event: 'replace', slot: known.get(worker)?.slot ?? null, pid: pid(worker), reason }));
  cluster.on('reloadStart', (info) => {
    reload = { generation: info.generation, slots: info.slots, ready: 0 };
    log({ event: 'reloadStart', generation: info.generation, strategy: info.strategy, slots: info.slots });
  });
  cluster.on('canaryStart', (info) => log({ event: 'canaryStart', ...info, pid: info.pid ?? null }));
  cluster.on('canaryEnd', (info) => log({ event: 'canaryEnd', ...info, pid: info.pid ?? null }));
  cluster.on('rebalance', (info) => log({ event: 'rebalance', workers: info.workers.map((w) => ({ ...w, pid: w.pid ?? null })) }));
  cluster.on('reloadEnd', (result) => {
    reload = null;
    log({ event: 'reloadEnd', generation: result.generation, durationMs: result.durationMs });
  });
  cluster.on('reloadFailed', (error) => {
    reload = null;
    log({ event: 'reloadFailed', generation: error.generation, reason: error.message.replace(/^Reload to generation \d+ failed: /, '') });
  });
  cluster.on('error', (error) => {
    // A failed first start is reported by the command itself, with the exit it causes.
    if ((error as { code?: string }).code === 'ERR_QILIN_START_FAILED') return;
    log({ event: 'error', message: error.message });
  });
  if (watcher) {
    watcher.on('ready', (paths) => log({ event: 'watching', paths, delayMs: watcher.options.delay, extensions: watcher.options.extensions }));
    watcher.on('change', (files) => log({ event: 'filesChanged', files }));
    watcher.on('error', (error) => log({ event: 'warning', message: `file watcher: ${error.message}` }));
  }
}
