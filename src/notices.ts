// The words of the cluster's warnings that carry a hint (a slow start, requests cut at a deadline), of a canary's verdict and of a rebalancing round, shared by the library's log and the command's.
import type { CanaryEnd, CanaryStart, CutInfo, DescriptorsInfo, HandoffsLost, RebalancedWorker, SlowStart } from './events.js';
import { describeShare } from './reload/canary.js';
import { formatDuration } from './units.js';

/** How to name an option in a hint: the library's `timeout`, the command's `--timeout`. */
export type OptionNames = Readonly<Record<'timeout' | 'readyWhen' | 'readyTimeout', string>>;

export const LIBRARY_NAMES: OptionNames = { timeout: '`timeout`', readyWhen: '`readyWhen`', readyTimeout: '`readyTimeout`' };

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `worker 4242 in slot 1 was not ready after 5 seconds: it has not called listen() yet ...`. */
export function describeSlowStart(pid: number | undefined, info: SlowStart, names: OptionNames = LIBRARY_NAMES): string {
  const who = `worker ${pid ?? '?'} in slot ${info.slot}`;
  let waiting: string;
  if (info.readyWhen === 'ready') {
    waiting = `it has not sent {cmd: 'ready'} or called ready() from qilin/worker yet (${names.readyWhen} is 'ready')${info.listened ? ', although it listens' : ''}`;
  } else if (info.readyWhen === 'listening') {
    waiting =
      `it has not called listen() yet (${names.readyWhen} is 'listening'); ` +
      `an app that does not listen, or listens only after other work, should use ${names.readyWhen} 'ready' and call ready()`;
  } else {
    waiting = 'its process has not come online yet';
  }
  const deadline =
    info.readyTimeout === null ? `it has no ${names.readyTimeout}` : `it counts as failed at ${formatDuration(info.readyTimeout)} (${names.readyTimeout})`;
  return `${who} is not ready after ${formatDuration(info.waitedMs)}: ${waiting}; ${deadline}`;
}

/** `worker 4242 in slot 1 reached its 1 second deadline (timeout) with 1 request under way on 1 open connection: cut; ...`. */
export function describeCut(pid: number | undefined, info: CutInfo, names: OptionNames = LIBRARY_NAMES): string {
  const what =
    info.requests > 0
      ? `${plural(info.requests, 'request')} under way on ${plural(info.connections, 'open connection')}`
      : plural(info.connections, 'open connection');
  return (
    `worker ${pid ?? '?'} in slot ${info.slot} reached its ${formatDuration(info.timeout)} deadline (${names.timeout}) with ${what}: cut. ` +
    `Raise ${names.timeout} if requests (or WebSocket sessions) may take longer`
  );
}

/** `worker 4242 in slot 1 is out of file descriptors (EMFILE, ...): it cannot accept connections until some close`, or that it has some again. */
export function describeDescriptors(pid: number | undefined, info: DescriptorsInfo): string {
  const who = `worker ${pid ?? '?'} in slot ${info.slot}`;
  if (!info.exhausted) return `${who} has file descriptors again: it accepts connections`;
  const whose = info.code === 'ENFILE' ? "the system's limit of open files" : 'its limit of open files: ulimit -n, LimitNOFILE= under systemd';
  return `${who} is out of file descriptors (${info.code ?? 'EMFILE'}, ${whose}): it cannot accept connections until some close`;
}

/** `worker 4242 in slot 1 did not receive 3 connections handed to it (...); they were given to other workers`. */
export function describeHandoffsLost(pid: number | undefined, info: HandoffsLost): string {
  return (
    `worker ${pid ?? '?'} in slot ${info.slot} did not receive ${plural(info.count, 'connection')} handed to it ` +
    `(is it out of file descriptors?); ${info.count === 1 ? 'it was' : 'they were'} given to other workers`
  );
}

/** A canary event as either log has it: the command writes an unknown pid as null. */
type WithPid<T> = Omit<T, 'pid'> & { readonly pid: number | null | undefined };

/** `reload to generation 3: canary in slot 2 (pid 40) serves beside the previous workers for 30 seconds`. */
export function describeCanaryStart(info: WithPid<CanaryStart>): string {
  return `reload to generation ${info.generation}: canary in slot ${info.slot} (pid ${info.pid ?? '?'}) serves beside the previous workers for ${formatDuration(info.durationMs)}`;
}

/** `reload to generation 3: canary passed (0 of 20 with a 5xx status (0%); previous workers: ...)`, or `canary failed, rolling back: <why>`. */
export function describeCanaryEnd(info: WithPid<CanaryEnd>): string {
  return info.passed
    ? `reload to generation ${info.generation}: canary passed (${describeShare(info.canary)}; previous workers: ${describeShare(info.previous)})`
    : `reload to generation ${info.generation}: canary failed, rolling back: ${info.reason}`;
}

/** `rebalancing kept-alive connections: worker 42 in slot 0 asked 6 of its 8 busy clients to reconnect (busy per slot: 8, 0, 0, 0)`. */
export function describeRebalance(workers: readonly WithPid<RebalancedWorker>[]): string {
  const asked = workers
    .filter((w) => w.asked > 0)
    .map((w) => `worker ${w.pid ?? '?'} in slot ${w.slot} asked ${w.asked} of its ${plural(w.busy, 'busy client')} to reconnect`);
  return `rebalancing kept-alive connections: ${asked.join('; ')} (busy per slot: ${workers.map((w) => w.busy).join(', ')})`;
}
