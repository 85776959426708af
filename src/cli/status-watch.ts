// `qilin status --watch`: the live view of a cluster, the status table redrawn every interval (one JSON line per look with --json), through reloads, upgrades and restarts of the primary.
import type { InfoAnswer } from '../admin/answers.js';
import { formatDuration, parseDuration } from '../units.js';
import { type AdminTarget, status } from './admin-client.js';
import { renderStatus, responseRates } from './status-table.js';

/** Where the view is written: a terminal is redrawn in place; anything else gets one frame after another. */
export interface ViewOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface WatchSettings {
  /** Between two looks, in ms. */
  readonly intervalMs: number;
  /** Stop after this many looks; null: until interrupted (Ctrl-C). */
  readonly count: number | null;
  readonly json: boolean;
  /** The address as the user gave it, for the title. */
  readonly address: string;
}

/**
 * `--watch`, `--interval` (a duration; a bare number is seconds, as for the other duration flags) and
 * `--count`, read together: how often and how many times, null without `--watch`, or what is wrong.
 */
export function readWatchFlags(
  command: string,
  values: { readonly watch?: boolean | undefined; readonly interval?: string | undefined; readonly count?: string | undefined },
): { intervalMs: number; count: number | null } | null | string {
  if (!values.watch) return values.interval !== undefined || values.count !== undefined ? '--interval and --count go with --watch' : null;
  if (command !== 'status') return '--watch applies to status only';
  const given = values.interval ?? '1s';
  const intervalMs = parseDuration(/^\d+(\.\d+)?$/.test(given) ? Number(given) : given);
  if (intervalMs === undefined || intervalMs < 100) return `--interval must be a duration of at least 100ms (\`2s\`, \`500ms\`); got \`${given}\``;
  if (values.count !== undefined && !/^[1-9]\d*$/.test(values.count)) return `--count must be a whole number from 1; got \`${values.count}\``;
  return { intervalMs, count: values.count === undefined ? null : Number(values.count) };
}

/** Home and clear-screen: the next frame replaces this one on a terminal. */
const CLEAR = '\x1b[H\x1b[2J';

/**
 * One frame: a title with the time, then the table; a cluster that cannot be reached (stopped, restarting)
 * is said so, and looked at again next time. `now` is the clock's reading, for the title.
 */
export function frame(answer: InfoAnswer | Error, settings: WatchSettings, now: Date, rates?: ReadonlyMap<number, number>): string {
  const title = `${settings.address}, every ${formatDuration(settings.intervalMs)} (Ctrl-C to stop), ${now.toISOString().slice(11, 19)} UTC`;
  const body = answer instanceof Error ? `unreachable: ${answer.message}; trying again\n` : renderStatus(answer, rates);
  return `${title}\n\n${body}`;
}

/**
 * Looks at the cluster every `intervalMs` and shows what it sees, `count` times or until interrupted. Always
 * resolves 0: a cluster unreachable for a while is part of what a live view shows.
 */
export async function watchStatus(target: AdminTarget, stdout: ViewOutput, settings: WatchSettings, clock: () => Date = () => new Date()): Promise<number> {
  // The previous answer, for each worker's responses per second since then.
  let previous: { readonly answer: InfoAnswer; readonly at: number } | null = null;
  for (let look = 1; settings.count === null || look <= settings.count; look += 1) {
    const started = Date.now();
    let answer: InfoAnswer | Error;
    try {
      answer = await status(target);
    } catch (error) {
      answer = error instanceof Error ? error : new Error(String(error));
    }
    const at = Date.now();
    const rates =
      answer instanceof Error ? undefined : previous ? responseRates(previous.answer, answer, (at - previous.at) / 1000) : new Map<number, number>();
    if (!(answer instanceof Error)) previous = { answer, at };
    if (settings.json) {
      stdout.write(
        `${JSON.stringify(answer instanceof Error ? { at: clock().toISOString(), error: answer.message } : { at: clock().toISOString(), ...answer })}\n`,
      );
    } else {
      stdout.write(`${stdout.isTTY ? CLEAR : look > 1 ? '\n' : ''}${frame(answer, settings, clock(), rates)}`);
    }
    if (settings.count !== null && look >= settings.count) break;
    const wait = Math.max(0, settings.intervalMs - (Date.now() - started));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return 0;
}
