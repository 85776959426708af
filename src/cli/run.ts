// The `qilin` command from start to exit: settings, checks, the cluster, the admin interface, signals, log lines, pid file, exit status.
import { statSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_COMMANDS } from './admin-command-names.js';
import { ADMIN_ENV } from './admin-config.js';
import type { AdminActions, AdminServer } from '../admin/server.js';
import type { Cluster } from '../cluster.js';
import { recluster } from '../recluster.js';
import { closestName } from '../suggest.js';
import { FileWatcher } from '../watch.js';
import { adminCommandOf, parseCommandLine } from './args.js';
import { ChildCheck, checkChildren } from './child-check.js';
import { findConfigFile, loadConfigFile } from './config.js';
import { CliError, EXIT } from './errors.js';
import { type LogEvent, type LogFormat, formatLine } from './format.js';
import { HELP, packageVersion } from './help.js';
import { startedByNpm, watchParent } from './parent.js';
import { claimPidFile, removePidFile } from './pid-file.js';
import { reportEvents } from './reporter.js';
import { type Plan, type SourcedSettings, mergeSettings, planFrom } from './settings.js';
import { HANDLED_SIGNALS, type HandledSignal, SignalController } from './signals.js';

/** Reads flags, config file and the admin secrets in `env` into a checked plan. Throws a CliError naming what is wrong. */
export async function planCommand(
  argv: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Plan | 'help' | 'version'> {
  const line = parseCommandLine(argv);
  if (line.help) return 'help';
  if (line.version) return 'version';
  const configFile = findConfigFile(cwd, line.config);
  const fromFile: SourcedSettings = configFile ? await loadConfigFile(configFile) : { settings: {}, origins: new Map() };
  return planFrom(mergeSettings(fromFile, line.flags), cwd, (base, p) => path.resolve(base, p), env);
}

function assertAppExists(app: string): void {
  let isFile = false;
  try {
    isFile = statSync(app).isFile();
  } catch {
    const name = path.basename(app);
    // `qilin -w 2 status` (a command not as the first word), or `qilin stauts` (a command mistyped).
    const close = path.extname(name) === '' ? closestName(name, ADMIN_COMMANDS) : undefined;
    const hint = (ADMIN_COMMANDS as readonly string[]).includes(name)
      ? ` (to ask a running qilin, put the command first: \`qilin ${name} --admin <address>\`)`
      : close === undefined
        ? ''
        : ` (did you mean \`qilin ${close}\`, to ask a running qilin?)`;
    throw new CliError('ERR_QILIN_CANNOT_START', `Cannot start: the app file ${app} does not exist${hint}`);
  }
  if (!isFile) throw new CliError('ERR_QILIN_CANNOT_START', `Cannot start: ${app} is not a file`);
}

const ignoreSignal = (): void => {};

const isStop = (signal: HandledSignal): boolean => signal === 'SIGTERM' || signal === 'SIGINT';

function writeLine(stream: NodeJS.WriteStream, line: string): void {
  try {
    stream.write(`${line}\n`);
  } catch {
    // A stream already destroyed throws here; a closed pipe reports later, on the listener added at start.
  }
}

/**
 * What the admin interface's /reload, /scale and /quit do under the command: the same as the signals, through
 * the signal controller, so SIGTTIN after `qilin scale 5` makes 6, and `qilin stop` ends the command with
 * status 0 like SIGTERM. Each request is logged.
 */
function adminActions(cluster: Cluster, controller: SignalController, log: (event: LogEvent) => void): AdminActions {
  return {
    reload: () => {
      log({ event: 'admin', action: 'reload', refused: controller.stopping });
      return cluster.reload();
    },
    scale: (workers) => {
      log({ event: 'admin', action: 'scale', workers, refused: controller.stopping });
      return controller.scale(workers);
    },
    shutdown: async () => {
      if (!controller.stopping) log({ event: 'admin', action: 'stop', refused: false });
      await controller.shutdown();
    },
  };
}

/**
 * Starts the admin interface before any worker is forked, so an address it cannot take (in use, a file in
 * the way) stops the command at once with the reason, instead of leaving a cluster nobody can reach. It is
 * attached to the cluster, which closes it when it stops. Resolves with the failure's message, or null.
 */
async function startAdmin(cluster: Cluster, admin: AdminServer, log: (event: LogEvent) => void): Promise<string | null> {
  cluster.on('adminListening', (address) => log({ event: 'adminListening', address }));
  cluster.attach(admin);
  try {
    await admin.start(cluster);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Runs the command; resolves with the exit status. Never calls process.exit itself, but expects its caller
 * to: once the server has run, the signals it handles stay caught, and ignored, until the process exits.
 * `qilin status`, `reload`, `stop` and `scale` (the first word of the command line) are the admin interface's client.
 */
export async function runCommand(argv: readonly string[]): Promise<number> {
  if (adminCommandOf(argv)) {
    // The admin client and the admin server are loaded only by the commands that use them.
    const [{ runAdminCommand }, { adminTargetFromConfig }] = await Promise.all([import('./admin-command.js'), import('./admin-target.js')]);
    const cwd = process.cwd();
    return runAdminCommand(argv, process.env, process.stdout, process.stderr, (config) => adminTargetFromConfig(cwd, config, process.env));
  }
  // A write to a closed pipe or terminal (a log reader that went away) does not throw: the stream emits an
  // 'error' event later, which with no listener would crash the primary, and its workers with it.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  // Signals are caught from the very start: left to their default actions, a SIGHUP or SIGUSR2 that comes
  // while the config loads would kill qilin, and a SIGTTIN would suspend it. Until the cluster runs they wait
  // (a reload or a scale means nothing before it), except a stop, which the controller takes as soon as it exists.
  let controller: SignalController | null = null;
  let running = false;
  const waiting: HandledSignal[] = [];
  const childCheck = new ChildCheck(checkChildren);
  const listeners = HANDLED_SIGNALS.map((signal) => {
    const listener = (): void => {
      childCheck.signalled();
      if (controller && (running || isStop(signal))) controller.handle(signal);
      else waiting.push(signal);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  try {
    return await serve();
  } finally {
    // The signals stay caught until the process exits, not just until this returns: a SIGUSR2 or SIGHUP left
    // to its default action in the moment between the last log line and the exit kills qilin (status 140 or
    // 129 instead of 0), and a SIGTTIN or SIGTTOU stops it, with its exit never reported. The one that ignores
    // them is added before the command's are removed, so no signal ever finds the default action in place.
    for (const [signal, listener] of listeners) {
      process.on(signal, ignoreSignal);
      process.off(signal, listener);
    }
    childCheck.stop();
  }

  async function serve(): Promise<number> {
    const cwd = process.cwd();
    let format: LogFormat = 'human';
    const log = (event: LogEvent): void => writeLine(process.stdout, formatLine(event, new Date(), format, cwd));
    const fatal = (message: string): void => {
      writeLine(process.stderr, `qilin: ${message}`);
      if (format === 'json') log({ event: 'error', message });
    };

    let plan: Plan;
    try {
      const planned = await planCommand(argv, cwd);
      if (planned === 'help') {
        writeLine(process.stdout, HELP.trimEnd());
        return EXIT.ok;
      }
      if (planned === 'version') {
        writeLine(process.stdout, packageVersion());
        return EXIT.ok;
      }
      plan = planned;
      format = plan.logFormat;
      for (const note of plan.notes) log({ event: 'warning', message: note });
      assertAppExists(plan.app);
    } catch (error) {
      if (error instanceof CliError) {
        fatal(error.message);
        return error.exitCode;
      }
      throw error;
    }

    if (plan.psName) process.title = plan.psName;
    // The command attaches its own watcher and admin server, to report the one and steer the other.
    const { watch: _watch, admin: _admin, ...clusterOptions } = plan.clusterOptions;
    // The admin secrets read from the environment are the primary's: the workers (and whatever they run) do not get them.
    const secretsRemoved = { [ADMIN_ENV.password]: undefined, [ADMIN_ENV.token]: undefined };
    const cluster = recluster(plan.app, { ...clusterOptions, env: { ...secretsRemoved, ...clusterOptions.env } });
    const watcher = plan.options.watch ? new FileWatcher(plan.options.watch) : undefined;
    if (watcher) cluster.attach(watcher);
    reportEvents(cluster, log, watcher);
    if (plan.options.silent) {
      // Silent workers' stdout is a pipe: keep it drained so a chatty worker never blocks on a full pipe.
      cluster.on('fork', (worker) => worker.process.stdout?.resume());
    }

    const signals = new SignalController(cluster, plan.options.workers, log);
    controller = signals;
    // Under npm, a SIGTERM sent to npm reaches only the shell npm runs qilin's script in (as with `npx qilin`),
    // which dies of it: qilin would go on with its workers, its port and no one to stop it. A script that
    // starts qilin with `exec` passes the signal itself; this stops the rest gracefully, as a signal would.
    const stopWatchingParent = startedByNpm(process.env)
      ? watchParent((pid) => {
          if (signals.stopping) return;
          log({
            event: 'warning',
            message:
              `the process that ran qilin for npm (pid ${pid}) has exited: stopping gracefully, as on SIGTERM ` +
              '(npm passes SIGTERM and SIGINT only to the shell it runs a script in, which does not pass them on; see docs/deploying.md)',
          });
          void signals.shutdown();
        })
      : () => {};
    // A stop that came while the config loaded is taken now; the rest wait for the cluster to run.
    for (const signal of waiting.filter(isStop)) signals.handle(signal);
    const admin = plan.options.admin
      ? new (await import('../admin/server.js')).AdminServer(plan.options.admin, {}, adminActions(cluster, signals, log))
      : null;

    let pidFileClaimed = false;
    try {
      if (plan.pidFile) {
        // Claimed before the admin interface listens or anything forks, so a second instance refuses at once.
        try {
          claimPidFile(plan.pidFile);
          pidFileClaimed = true;
        } catch (error) {
          fatal((error as Error).message);
          return EXIT.failed;
        }
      }
      log({ event: 'start', version: packageVersion(), app: plan.app, workers: plan.options.workers, pid: process.pid });
      if (admin) {
        const failure = await startAdmin(cluster, admin, log);
        if (failure !== null) {
          fatal(`cannot start: ${failure}`);
          return EXIT.failed;
        }
      }
      if (signals.stopping) {
        // Stopped by a signal while the config loaded or the admin interface was opening: nothing was forked.
        const stopped = await signals.stopped;
        log({ event: 'stopped', forced: stopped.forced });
        return stopped.forced ? EXIT.failed : EXIT.ok;
      }
      const startedAt = Date.now();
      const firstStart = cluster.run();
      // Reloads and scale requests that waited are taken now: the cluster runs them once its first start settles.
      running = true;
      for (const signal of waiting.splice(0)) if (!isStop(signal)) signals.handle(signal);
      const outcome = await Promise.race([
        firstStart.then(
          () => 'started' as const,
          (error: unknown) => error,
        ),
        signals.stopped.then(() => 'stopped' as const),
      ]);
      if (outcome === 'started') {
        log({ event: 'started', workers: cluster.activeWorkers().length, durationMs: Date.now() - startedAt });
      } else if (outcome !== 'stopped' && !signals.stopping) {
        const reason = outcome instanceof Error ? outcome.message : String(outcome);
        const relative = path.relative(cwd, plan.app);
        fatal(`cannot start ${relative && !relative.startsWith('..') ? relative : plan.app}: ${reason}`);
        await signals.terminate();
        return EXIT.failed;
      }
      const stopped = await signals.stopped;
      log({ event: 'stopped', forced: stopped.forced });
      return stopped.forced ? EXIT.failed : EXIT.ok;
    } finally {
      stopWatchingParent();
      if (pidFileClaimed && plan.pidFile) removePidFile(plan.pidFile);
    }
  }
}
