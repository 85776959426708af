// Notifying systemd (`Type=notify`, `Type=notify-reload`): each notification is sent by the `systemd-notify` program, one at a time and in order, since Node.js has no Unix datagram sockets; and the watchdog's keep-alive.
import { spawn } from 'node:child_process';
import type { Cluster } from '../cluster.js';
import type { LogEvent } from './format.js';
import { NOTIFY, type NotifyEnvironment, notifySocket, watchdogInterval } from './systemd-messages.js';

/** How long one `systemd-notify` may take (it waits for systemd to have read the message) before it is killed. */
const SEND_TIMEOUT = 10_000;

/** Runs `systemd-notify` with `assignments`; resolves with null once it exited 0, or with what went wrong. */
export type NotifySender = (assignments: readonly string[]) => Promise<string | null>;

/** The real sender: the `systemd-notify` on PATH, which passes the assignments to $NOTIFY_SOCKET as they are. */
function runSystemdNotify(assignments: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('systemd-notify', [...assignments], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      resolve(error instanceof Error ? error.message : String(error));
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 1_000) stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), SEND_TIMEOUT);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ENOENT' ? 'the systemd-notify program is not on PATH' : error.message);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(null);
      else resolve(`systemd-notify ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    });
  });
}

export class SystemdNotifier {
  readonly #send: NotifySender;
  readonly #log: (event: LogEvent) => void;
  #queue: Promise<void> = Promise.resolve();
  #watchdog: NodeJS.Timeout | null = null;
  #warned = false;

  constructor(log: (event: LogEvent) => void, send: NotifySender = runSystemdNotify) {
    this.#log = log;
    this.#send = send;
  }

  /** Sends `assignments` after every notification before it; a failure is logged once, and never stops the command. */
  notify(assignments: readonly string[]): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      const failure = await this.#send(assignments);
      if (failure === null || this.#warned) return;
      this.#warned = true;
      this.#log({ event: 'warning', message: `cannot notify systemd ($NOTIFY_SOCKET is set): ${failure}` });
    });
    return this.#queue;
  }

  /** Sends `WATCHDOG=1` every `ms` while the primary's event loop runs. */
  startWatchdog(ms: number): void {
    if (this.#watchdog) return;
    this.notify(NOTIFY.watchdog());
    this.#watchdog = setInterval(() => this.notify(NOTIFY.watchdog()), ms);
    this.#watchdog.unref();
  }

  /** Tells systemd where each reload begins and ends. */
  watch(cluster: Cluster): void {
    cluster.on('reloadStart', (info) => this.notify(NOTIFY.reloading(process.hrtime.bigint() / 1_000n, info.generation)));
    cluster.on('reloadEnd', (result) => this.notify(NOTIFY.reloaded(result.generation, result.slots.length)));
    cluster.on('reloadFailed', (error) =>
      this.notify(NOTIFY.reloadFailed(error.generation, cluster.generation, cluster.activeWorkers().length, error.message)),
    );
  }

  /** Stops the watchdog; resolves once every notification asked for has been sent. */
  async close(): Promise<void> {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = null;
    await this.#queue;
  }
}

/** The notifier when systemd asks for notifications ($NOTIFY_SOCKET), with its watchdog running if it has one; else null. */
export function systemdNotifier(env: NotifyEnvironment, log: (event: LogEvent) => void, send?: NotifySender): SystemdNotifier | null {
  if (notifySocket(env) === null) return null;
  const notifier = new SystemdNotifier(log, send);
  const every = watchdogInterval(env, process.pid);
  if (every !== null) notifier.startWatchdog(every);
  return notifier;
}
