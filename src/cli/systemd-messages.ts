// What the command tells systemd over $NOTIFY_SOCKET (sd_notify's assignments) at each step of its life, and how often its watchdog wants to hear from it: pure, from the environment and the cluster's state.

/** The environment systemd gives a `Type=notify` service. */
export interface NotifyEnvironment {
  readonly NOTIFY_SOCKET?: string | undefined;
  readonly WATCHDOG_USEC?: string | undefined;
  readonly WATCHDOG_PID?: string | undefined;
}

/** What the workers must not inherit: they are not the service's main process, and an app that notifies on its own would tell systemd it is ready too soon. */
export const NOTIFY_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** The socket to notify, or null when systemd does not ask for notifications. */
export function notifySocket(env: NotifyEnvironment): string | null {
  const socket = env.NOTIFY_SOCKET;
  return typeof socket === 'string' && socket !== '' ? socket : null;
}

/**
 * How often to send `WATCHDOG=1`, in ms: half of `WATCHDOG_USEC`, as sd_watchdog_enabled() advises; null when
 * there is no watchdog, or when `WATCHDOG_PID` names another process (the watchdog is that one's).
 */
export function watchdogInterval(env: NotifyEnvironment, pid: number): number | null {
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && env.WATCHDOG_PID !== String(pid)) return null;
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  return Math.max(1, Math.floor(usec / 2_000));
}

/** A `STATUS=` line: one line, whatever the reason it carries. */
function status(text: string): string {
  return `STATUS=${text.replace(/\s+/g, ' ').trim()}`;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

function serving(generation: number, workers: number): string {
  return `serving generation ${generation} with ${plural(workers, 'worker')}`;
}

/** The assignments of each notification, in the order systemd reads them. */
export const NOTIFY = {
  /** The first start succeeded. `MAINPID=` names the command, so systemd tracks it even when `npm start` or a shell started it. */
  ready: (pid: number, workers: number): string[] => [`MAINPID=${pid}`, 'READY=1', status(serving(0, workers))],
  /** A reload begins; `monotonicUsec` is CLOCK_MONOTONIC now, in µs, as `Type=notify-reload` needs. */
  reloading: (monotonicUsec: bigint, generation: number): string[] => [
    'RELOADING=1',
    `MONOTONIC_USEC=${monotonicUsec}`,
    status(`reloading: starting generation ${generation}`),
  ],
  reloaded: (generation: number, workers: number): string[] => ['READY=1', status(serving(generation, workers))],
  /** A failed reload is over too: the old generation serves, and the status says why. */
  reloadFailed: (generation: number, servingGeneration: number, workers: number, reason: string): string[] => [
    'READY=1',
    status(`reload to generation ${generation} failed (${reason}); ${serving(servingGeneration, workers)}`),
  ],
  /** A reload refused before it began (the config file does not read). */
  reloadRefused: (servingGeneration: number, workers: number, reason: string): string[] => [
    'READY=1',
    status(`reload refused (${reason}); ${serving(servingGeneration, workers)}`),
  ],
  stopping: (): string[] => ['STOPPING=1', status('stopping: the workers finish their requests')],
  watchdog: (): string[] => ['WATCHDOG=1'],
} as const;
