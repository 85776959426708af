// A reload under the command reads its settings again: the flags it started with over the config file as it is on disk now; what a reload cannot change is named, and a file that does not read aborts the reload.
import type { SettingsSource } from '../cluster.js';
import { QilinError } from '../errors.js';
import { FIXED_OPTIONS, type ResolvedOptions } from '../options.js';
import { ADMIN_ENV } from './admin-config.js';
import type { LogEvent } from './format.js';
import type { Plan } from './settings.js';
import { NOTIFY_VARIABLES } from './systemd-messages.js';

/**
 * The settings the workers get from a plan: the admin secrets read from the environment are the primary's,
 * never the workers', and so is systemd's notification socket (the workers are not the service's main process).
 */
export function workerOptions(plan: Plan): ResolvedOptions {
  const hidden = Object.fromEntries([ADMIN_ENV.password, ADMIN_ENV.token, ...NOTIFY_VARIABLES].map((name) => [name, undefined]));
  const env = Object.freeze({ ...hidden, ...plan.options.env });
  return Object.freeze({ ...plan.options, env });
}

/**
 * What a reload cannot change, by the name a config file gives it, and how to read it from a plan: the
 * command's own settings, then the library's fixed options (`admin` as given, since its resolved form holds
 * credentials that are not compared as text).
 */
const FIXED: readonly (readonly [string, (plan: Plan) => unknown])[] = [
  ['app', (plan) => plan.app],
  ['pidFile', (plan) => plan.pidFile],
  ['logFormat', (plan) => plan.logFormat],
  ['psName', (plan) => plan.psName],
  ['admin', (plan) => plan.admin],
  ...FIXED_OPTIONS.filter((key) => key !== 'admin').map((key) => [key, (plan: Plan) => plan.options[key]] as const),
];

/** The settings `now` changes from `started` that a reload cannot apply (they apply when qilin is started again). */
export function fixedChanges(started: Plan, now: Plan): string[] {
  return FIXED.filter(([, of]) => JSON.stringify(of(started)) !== JSON.stringify(of(now))).map(([name]) => name);
}

/**
 * The cluster's settings source under the command: each reload runs `read` (the plan from the command line
 * the command started with and its config file as it is now). A plan that does not read aborts the reload with
 * the reason, logged, and nothing changes; settings that a reload cannot change are logged and left as they are.
 */
export function rereadSettings(
  started: Plan,
  read: () => Promise<Plan>,
  log: (event: LogEvent) => void,
  refused: (reason: string) => void = () => {},
): SettingsSource {
  return async () => {
    let plan: Plan;
    try {
      plan = await read();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log({ event: 'warning', message: `reload refused: ${reason}; the workers serving stay, with the settings they have` });
      refused(reason);
      throw new QilinError('ERR_QILIN_RELOAD_FAILED', `Reload refused: the settings could not be read again: ${reason}`, { cause: error });
    }
    const fixed = fixedChanges(started, plan);
    if (fixed.length > 0) {
      log({
        event: 'warning',
        message: `the config changes ${fixed.join(', ')}, which a reload cannot change: they apply when qilin is started again (or upgraded); the reload applies the rest`,
      });
    }
    return workerOptions(plan);
  };
}
