// The command's log lines: one per lifecycle event, human-readable or JSON, from plain data (no process I/O here).
import path from 'node:path';
import type { CanaryEnd, CanaryStart, CutInfo, DescriptorsInfo, HandoffsLost, RebalancedWorker, SlowStart } from '../events.js';
import {
  type OptionNames,
  describeCanaryEnd,
  describeCanaryStart,
  describeCut,
  describeDescriptors,
  describeHandoffsLost,
  describeRebalance,
  describeSlowStart,
} from '../notices.js';
import { DEFAULT_WATCH_EXTENSIONS } from '../options.js';
import { formatDuration } from '../units.js';

/** The command's names for the options its hints mention. */
const FLAG_NAMES: OptionNames = { timeout: '`--timeout`', readyWhen: '`--ready-when`', readyTimeout: '`--ready-timeout`' };

/** Every event the command reports, as plain data. */
export type LogEvent =
  | { readonly event: 'start'; readonly version: string; readonly app: string; readonly workers: number; readonly pid: number }
  | { readonly event: 'fork'; readonly slot: number; readonly pid: number | null; readonly generation: number }
  | { readonly event: 'ready'; readonly slot: number; readonly pid: number | null; readonly generation: number }
  | { readonly event: 'started'; readonly workers: number; readonly durationMs: number }
  | {
      readonly event: 'exit';
      readonly slot: number | null;
      readonly pid: number | null;
      readonly code: number | null;
      readonly signal: string | null;
      /** It left because it was retired (reload, scale, shutdown), not because it crashed. */
      readonly retired: boolean;
    }
  | { readonly event: 'respawn'; readonly slot: number; readonly delayMs: number }
  | ({ readonly event: 'slowStart'; readonly pid: number | null } & SlowStart)
  | ({ readonly event: 'cut'; readonly pid: number | null } & CutInfo)
  | ({ readonly event: 'descriptors'; readonly pid: number | null } & DescriptorsInfo)
  | ({ readonly event: 'handoffsLost'; readonly pid: number | null } & HandoffsLost)
  | { readonly event: 'replace'; readonly slot: number | null; readonly pid: number | null; readonly reason: string }
  | { readonly event: 'reloadStart'; readonly generation: number; readonly strategy: string; readonly slots: number }
  | { readonly event: 'reloadProgress'; readonly generation: number; readonly ready: number; readonly slots: number }
  | ({ readonly event: 'canaryStart'; readonly pid: number | null } & Omit<CanaryStart, 'pid'>)
  | ({ readonly event: 'canaryEnd'; readonly pid: number | null } & Omit<CanaryEnd, 'pid'>)
  | { readonly event: 'rebalance'; readonly workers: readonly (Omit<RebalancedWorker, 'pid'> & { readonly pid: number | null })[] }
  | { readonly event: 'reloadEnd'; readonly generation: number; readonly durationMs: number }
  | { readonly event: 'reloadFailed'; readonly generation: number; readonly reason: string }
  | {
      readonly event: 'watching';
      readonly paths: readonly string[];
      readonly delayMs: number;
      /** The extensions that count, or null for every file. */
      readonly extensions: readonly string[] | null;
    }
  | { readonly event: 'filesChanged'; readonly files: readonly string[] }
  | { readonly event: 'signal'; readonly signal: string; readonly action: SignalAction; readonly workers?: number }
  | { readonly event: 'scaled'; readonly workers: number }
  | { readonly event: 'adminListening'; readonly address: string }
  | { readonly event: 'upgradeStart'; readonly command: string; readonly script: string }
  | { readonly event: 'upgradeSlow'; readonly pid: number | null; readonly running: boolean; readonly waitedMs: number; readonly timeoutMs: number }
  | { readonly event: 'upgraded'; readonly pid: number }
  | { readonly event: 'upgradeFailed'; readonly reason: string }
  | { readonly event: 'takenOver'; readonly from: number; readonly sockets: number }
  | {
      readonly event: 'socketsPassed';
      readonly sockets: readonly { readonly fd: number; readonly name: string | null; readonly address: string }[];
      readonly skipped: readonly number[];
    }
  | {
      readonly event: 'admin';
      readonly action: AdminAction;
      readonly workers?: number;
      /** Refused because the command is shutting down. */
      readonly refused: boolean;
    }
  | { readonly event: 'stopped'; readonly forced: boolean }
  | { readonly event: 'warning'; readonly message: string }
  | { readonly event: 'error'; readonly message: string };

/** What the command does on a signal. */
export type SignalAction = 'reload' | 'shutdown' | 'force' | 'scaleUp' | 'scaleDown' | 'upgrade' | 'ignored';

/** What the admin interface was asked to do. */
export type AdminAction = 'reload' | 'scale' | 'stop' | 'upgrade';

export type Level = 'info' | 'warn' | 'error';

export type LogFormat = 'human' | 'json';

const REPLACE_REASONS: Record<string, string> = {
  requested: 'it asked to be replaced',
  disconnected: 'it disconnected itself',
  unresponsive: 'its event loop is blocked (no heartbeat)',
  memory: 'it uses more memory than allowed',
  crashed: 'it had an uncaught exception',
};

/** A measured time, precise enough to compare reloads: `412 ms`, `1.5 s`. */
function elapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function pidText(pid: number | null): string {
  return pid === null ? 'pid ?' : `pid ${pid}`;
}

/** Which files the watcher counts: `code and config files` (the defaults), `every file`, or `.js and .hbs files`. */
function watchedFiles(extensions: readonly string[] | null): string {
  if (extensions === null) return 'every file';
  if (extensions.length === DEFAULT_WATCH_EXTENSIONS.length && extensions.every((ext, i) => ext === DEFAULT_WATCH_EXTENSIONS[i])) {
    return 'code and config files';
  }
  const named = extensions.map((ext) => `.${ext}`);
  return `${named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named.at(-1) as string}` : named[0]} files`;
}

function listFiles(files: readonly string[], cwd: string): string {
  const shown = files.slice(0, 3).map((f) => path.relative(cwd, f) || f);
  return files.length > 3 ? `${shown.join(', ')} and ${files.length - 3} more` : shown.join(', ');
}

function adminMessage(e: Extract<LogEvent, { event: 'admin' }>): string {
  const what = e.action === 'scale' ? `scale to ${e.workers ?? '?'} worker${e.workers === 1 ? '' : 's'}` : e.action;
  if (e.refused) return `admin interface: ${what} refused while shutting down`;
  switch (e.action) {
    case 'reload':
      return 'admin interface: reloading';
    case 'scale':
      return `admin interface: scaling to ${e.workers ?? '?'} worker${e.workers === 1 ? '' : 's'}`;
    case 'upgrade':
      return 'admin interface: upgrading the primary';
    default:
      return 'admin interface: shutting down gracefully';
  }
}

function signalMessage(e: Extract<LogEvent, { event: 'signal' }>): string {
  switch (e.action) {
    case 'reload':
      return `${e.signal}: reloading`;
    case 'upgrade':
      return `${e.signal}: upgrading the primary`;
    case 'shutdown':
      return `${e.signal}: shutting down gracefully (send it again to force)`;
    case 'force':
      return `${e.signal} again: killing every worker now`;
    case 'scaleUp':
    case 'scaleDown':
      return `${e.signal}: scaling to ${e.workers ?? '?'} worker${e.workers === 1 ? '' : 's'}`;
    default:
      return `${e.signal}: ignored while shutting down`;
  }
}

/** The severity and the words of an event. `cwd` shortens file names. */
export function describeEvent(e: LogEvent, cwd = process.cwd()): { level: Level; message: string } {
  const info = (message: string) => ({ level: 'info' as const, message });
  switch (e.event) {
    case 'start':
      return info(
        `qilin ${e.version} starting ${path.relative(cwd, e.app) || e.app} with ${e.workers} worker${e.workers === 1 ? '' : 's'} ` +
          `(primary pid ${e.pid}; reload: kill -USR2 ${e.pid}; stop: kill -TERM ${e.pid})`,
      );
    case 'fork':
      return info(`slot ${e.slot}: worker up, ${pidText(e.pid)} (generation ${e.generation})`);
    case 'ready':
      return info(`slot ${e.slot}: ready, ${pidText(e.pid)} (generation ${e.generation})`);
    case 'started':
      return info(`all ${e.workers} worker${e.workers === 1 ? '' : 's'} ready in ${elapsed(e.durationMs)}`);
    case 'exit': {
      const who = `${e.slot === null ? 'worker' : `slot ${e.slot}: worker`} ${e.pid ?? '?'}`;
      const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code ?? 'unknown'}`;
      const clean = e.retired || (e.code === 0 && !e.signal);
      return { level: clean ? 'info' : 'warn', message: `${who} ${how}${e.retired ? ' (retired)' : ''}` };
    }
    case 'respawn':
      return { level: 'warn', message: `slot ${e.slot}: respawning in ${formatDuration(e.delayMs)}` };
    case 'slowStart':
      return { level: 'warn', message: describeSlowStart(e.pid ?? undefined, e, FLAG_NAMES) };
    case 'cut':
      return { level: 'warn', message: describeCut(e.pid ?? undefined, e, FLAG_NAMES) };
    case 'descriptors':
      return { level: e.exhausted ? 'warn' : 'info', message: describeDescriptors(e.pid ?? undefined, e) };
    case 'handoffsLost':
      return { level: 'warn', message: describeHandoffsLost(e.pid ?? undefined, e) };
    case 'replace':
      return {
        level: 'warn',
        message: `${e.slot === null ? 'worker' : `slot ${e.slot}: worker`} ${e.pid ?? '?'} is being replaced: ${REPLACE_REASONS[e.reason] ?? e.reason}`,
      };
    case 'reloadStart':
      return info(`reload to generation ${e.generation} started (${e.strategy}, ${e.slots} slot${e.slots === 1 ? '' : 's'})`);
    case 'reloadProgress':
      return info(`reload to generation ${e.generation}: ${e.ready} of ${e.slots} slot${e.slots === 1 ? '' : 's'} ready`);
    case 'canaryStart':
      return info(describeCanaryStart(e));
    case 'canaryEnd':
      return { level: e.passed ? 'info' : 'warn', message: describeCanaryEnd(e) };
    case 'rebalance':
      return info(describeRebalance(e.workers));
    case 'reloadEnd':
      return info(`reload to generation ${e.generation} done in ${elapsed(e.durationMs)}`);
    case 'reloadFailed':
      return { level: 'error', message: `reload to generation ${e.generation} failed: ${e.reason}` };
    case 'watching':
      return info(
        `watching ${e.paths.map((p) => path.relative(cwd, p) || '.').join(', ')} (${watchedFiles(e.extensions)}; reload ${formatDuration(e.delayMs)} after the last change)`,
      );
    case 'filesChanged':
      return info(`${e.files.length} file${e.files.length === 1 ? '' : 's'} changed (${listFiles(e.files, cwd)}): reloading`);
    case 'signal':
      return { level: e.action === 'ignored' ? 'warn' : 'info', message: signalMessage(e) };
    case 'scaled':
      return info(`now running ${e.workers} worker${e.workers === 1 ? '' : 's'}`);
    case 'adminListening':
      return info(`admin interface listening on ${e.address} (qilin status --admin ${e.address})`);
    case 'admin':
      return { level: e.refused ? 'warn' : 'info', message: adminMessage(e) };
    case 'upgradeStart':
      return info(`upgrading the primary: starting ${e.script} with ${e.command}, on this primary's sockets`);
    case 'upgradeSlow':
      return {
        level: 'warn',
        message: e.running
          ? `upgrading the primary: the new primary (pid ${e.pid ?? '?'}) runs, but does not serve yet after ${formatDuration(e.waitedMs)} (its own lines say what it waits for); this primary serves meanwhile, for up to ${formatDuration(e.timeoutMs)}`
          : `upgrading the primary: the new primary (pid ${e.pid ?? '?'}) has not begun to run after ${formatDuration(e.waitedMs)} (starting a process is slow on this machine now: load, a slow disk); this primary serves meanwhile, for up to ${formatDuration(e.timeoutMs)}`,
      };
    case 'upgraded':
      return info(`upgraded: the new primary (pid ${e.pid}) serves; retiring this one's workers`);
    case 'upgradeFailed':
      return { level: 'error', message: `upgrade failed: ${e.reason}; this primary keeps serving` };
    case 'takenOver':
      return info(`taking over from primary ${e.from}: ${e.sockets} listening socket${e.sockets === 1 ? '' : 's'}`);
    case 'socketsPassed': {
      const sockets = e.sockets.map((s) => `${s.address} (fd ${s.fd}${s.name ? `, ${s.name}` : ''})`).join(', ');
      const skipped = e.skipped.length ? `; not TCP sockets, left alone: fd ${e.skipped.join(', ')}` : '';
      return {
        level: e.skipped.length ? 'warn' : 'info',
        message: `systemd passed ${e.sockets.length === 1 ? 'a socket' : `${e.sockets.length} sockets`}: ${sockets || 'none usable'}${skipped}`,
      };
    }
    case 'stopped':
      return e.forced ? { level: 'warn', message: 'stopped by force: workers were killed' } : info('stopped: every worker has exited');
    case 'warning':
      return { level: 'warn', message: e.message };
    case 'error':
      return { level: 'error', message: e.message };
  }
}

/** One log line, without its newline: `2024-05-01T10:00:00.000Z [qilin] slot 0: ready, pid 42 (generation 0)`, or a JSON object. */
export function formatLine(e: LogEvent, time: Date, format: LogFormat, cwd = process.cwd()): string {
  const { level, message } = describeEvent(e, cwd);
  if (format === 'json') {
    return JSON.stringify({ time: time.toISOString(), level, msg: message, ...e });
  }
  const tag = level === 'info' ? '[qilin]' : `[qilin] ${level}:`;
  return `${time.toISOString()} ${tag} ${message}`;
}
