// The `qilin` command from start to exit, in phases: the plan (flags, config file), the cluster and its services, the pid file, the admin interface, the first start, and the wait for the stop.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AdminServer } from '../admin/server.js';
import { assembleCluster } from '../assemble.js';
import type { Cluster } from '../cluster.js';
import { FileWatcher } from '../watch.js';
import { adminCommandOf, parseCommandLine } from './args.js';
import { findConfigFile, loadConfigFile } from './config.js';
import { CliError, EXIT } from './errors.js';
import type { LogEvent } from './format.js';
import { HELP, packageVersion } from './help.js';
import { startedByNpm, watchParent } from './parent.js';
import { claimPidFile, removePidFile } from './pid-file.js';
import { reportEvents } from './reporter.js';
import { type Plan, type SourcedSettings, mergeSettings, planFrom } from './settings.js';
import { rereadSettings, workerOptions } from './reread.js';
import { takePassedSockets } from '../sockets/activation.js';
import { SignalInbox } from './signal-inbox.js';
import { adminActions, useUpgrade } from './admin-actions.js';
import { Output, assertAppExists, writeLine } from './output.js';
import { PrimaryUpgrade } from './primary-upgrade.js';
import { UPGRADE_ENV, handoverFrom, reportRunning, reportUpgraded, takeHandover } from './upgrade.js';
import { type SystemdNotifier, systemdNotifier } from './systemd.js';
import { NOTIFY } from './systemd-messages.js';
import { SignalController, type Stopped } from './signals.js';

/** The command's plan, and the config file it was read from (null: flags only). */
export type CommandPlan = Plan & { readonly configFile: string | null };

/**
 * Reads flags, config file and the admin secrets in `env` into a checked plan. Throws a CliError naming what
 * is wrong. `again`: a reload's re-read, of the config file the command started from (none: flags only), as it is on disk now.
 */
export async function planCommand(
  argv: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  again?: { readonly configFile: string | null },
): Promise<CommandPlan | 'help' | 'version'> {
  const line = parseCommandLine(argv);
  if (line.help) return 'help';
  if (line.version) return 'version';
  const configFile = again ? again.configFile : findConfigFile(cwd, line.config);
  if (again && configFile !== null && !existsSync(configFile)) throw new CliError('ERR_QILIN_CONFIG', `The config file ${configFile} is gone`);
  const fromFile: SourcedSettings = configFile ? await loadConfigFile(configFile, again !== undefined) : { settings: {}, origins: new Map() };
  return { ...planFrom(mergeSettings(fromFile, line.flags), cwd, (base, p) => path.resolve(base, p), env), configFile };
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
  const inbox = new SignalInbox();
  try {
    return await serve(argv, inbox);
  } finally {
    inbox.holdUntilExit();
  }
}

async function serve(argv: readonly string[], inbox: SignalInbox): Promise<number> {
  // Started by an upgrade: the old primary hears at once that this process runs.
  if (process.env[UPGRADE_ENV]) reportRunning();
  const output = new Output(process.cwd());
  const plan = await readPlan(argv, output);
  if (typeof plan === 'number') return plan;
  if (plan.psName) process.title = plan.psName;
  // Started by an upgrade: the old primary's sockets are this one's now. Its workers must not see the handover.
  const handover = handoverFrom(process.env);
  delete process.env[UPGRADE_ENV];
  if (handover) takeHandover(handover);
  // Under systemd's Type=notify: the watchdog's keep-alive runs from now on, before anything slow.
  const notifier = systemdNotifier(process.env, output.log);
  const { cluster, signals, admin, stopWatchingParent } = await assemble(argv, plan, output, inbox, notifier, handover !== null);
  const upgrade = new PrimaryUpgrade(argv, plan, cluster, signals, admin, output.log);
  signals.onUpgrade(() => upgrade.start());
  useUpgrade(upgrade);
  if (notifier) {
    notifier.watch(cluster);
    // A primary that handed over to a new one is not stopping the service: the new one told systemd MAINPID=.
    signals.onStopping(() => {
      if (!upgrade.handedOver) void notifier.notify(NOTIFY.stopping());
    });
  }
  let pidFileClaimed = false;
  try {
    if (plan.pidFile) {
      // Claimed before the admin interface listens or anything forks, so a second instance refuses at once.
      try {
        claimPidFile(plan.pidFile, process.pid, handover?.from ?? null);
        pidFileClaimed = true;
      } catch (error) {
        output.fatal((error as Error).message);
        return EXIT.failed;
      }
    }
    output.log({ event: 'start', version: packageVersion(), app: plan.app, workers: plan.options.workers, pid: process.pid });
    if (handover) output.log({ event: 'takenOver', from: handover.from, sockets: handover.sockets.length });
    if (plan.options.runtime) {
      const passed = takePassedSockets();
      if (passed) output.log({ event: 'socketsPassed', ...passed });
    }
    if (admin) {
      // The old primary's admin socket, if it listened where this one is to: no moment without it.
      if (handover?.admin) admin.inheritSocket(handover.admin.fd, handover.admin.address);
      const failure = await startAdmin(cluster, admin, output.log);
      if (failure !== null) {
        output.fatal(`cannot start: ${failure}`);
        return EXIT.failed;
      }
    }
    // Stopped by a signal while the config loaded or the admin interface was opening: nothing is forked.
    if (!signals.stopping) {
      const failed = await firstStart(plan, cluster, signals, inbox, output);
      if (failed !== null) return failed;
      if (!signals.stopping) {
        void notifier?.notify(NOTIFY.ready(process.pid, cluster.activeWorkers().length));
        if (handover) reportUpgraded((port, connection) => cluster.adoptHandover(port, connection));
      }
    }
    return stoppedWith(await signals.stopped, output);
  } finally {
    stopWatchingParent();
    // A new primary that took over has rewritten the file with its own pid: this leaves it alone.
    if (pidFileClaimed && plan.pidFile) removePidFile(plan.pidFile);
    await notifier?.close();
  }
}

/** The plan, or the exit status when there is nothing to run (help, version, a wrong flag or config). */
async function readPlan(argv: readonly string[], output: Output): Promise<CommandPlan | number> {
  try {
    const planned = await planCommand(argv, output.cwd);
    if (planned === 'help') {
      writeLine(process.stdout, HELP.trimEnd());
      return EXIT.ok;
    }
    if (planned === 'version') {
      writeLine(process.stdout, packageVersion());
      return EXIT.ok;
    }
    output.format = planned.logFormat;
    for (const note of planned.notes) output.log({ event: 'warning', message: note });
    assertAppExists(planned.app);
    return planned;
  } catch (error) {
    if (error instanceof CliError) {
      output.fatal(error.message);
      return error.exitCode;
    }
    throw error;
  }
}

/**
 * The cluster with the command's own services (a watcher it reports, an admin server that acts through the
 * signal controller), the controller the signals drive, and the watch on npm's shell.
 */
async function assemble(argv: readonly string[], plan: CommandPlan, output: Output, inbox: SignalInbox, notifier: SystemdNotifier | null, upgraded: boolean) {
  const { log } = output;
  const watcher = plan.options.watch ? new FileWatcher(plan.options.watch) : null;
  let cluster: Cluster | null = null;
  let signals: SignalController | null = null;
  const admin = plan.options.admin
    ? new (await import('../admin/server.js')).AdminServer(
        plan.options.admin,
        {},
        adminActions(
          () => cluster as Cluster,
          () => signals as SignalController,
          log,
        ),
      )
    : null;
  cluster = assembleCluster(plan.app, workerOptions(plan), { watcher, admin });
  // Every reload (a signal, the admin interface, the watcher) reads the command line and the config file again.
  cluster.readSettingsFrom(
    rereadSettings(
      plan,
      async () => {
        const again = await planCommand(argv, output.cwd, process.env, { configFile: plan.configFile });
        if (typeof again === 'string') throw new Error(`unexpected ${again}`);
        return again;
      },
      log,
      // systemd (Type=notify-reload) waits for RELOADING=1 and READY=1 after its SIGHUP: a refused reload is one that ended.
      (reason) => {
        if (!notifier || !cluster) return;
        void notifier.notify(NOTIFY.reloading(process.hrtime.bigint() / 1_000n, cluster.generation + 1));
        void notifier.notify(NOTIFY.reloadRefused(cluster.generation, cluster.activeWorkers().length, reason));
      },
    ),
  );
  reportEvents(cluster, log, watcher ?? undefined);
  // Silent workers' stdout is a pipe (a reload may turn `silent` on): keep it drained so a chatty worker never blocks on a full pipe.
  cluster.on('fork', (worker) => worker.process.stdout?.resume());
  const controller = new SignalController(cluster, plan.options.workers, log);
  signals = controller;
  let configured = cluster.options.workers;
  cluster.on('reloadEnd', () => {
    // A reload that changed the config file's `workers` applied the new count.
    if (cluster.options.workers === configured) return;
    configured = cluster.options.workers;
    controller.resized(configured);
  });
  inbox.connect(controller);
  // Under npm, a SIGTERM sent to npm reaches only the shell npm runs qilin's script in (as with `npx qilin`),
  // which dies of it: qilin would go on with its workers, its port and no one to stop it. A script that
  // starts qilin with `exec` passes the signal itself; this stops the rest gracefully, as a signal would.
  // A primary started by an upgrade has the old primary as its parent, which exits once this one serves.
  const stopWatchingParent =
    startedByNpm(process.env) && !upgraded
      ? watchParent((pid) => {
          if (controller.stopping) return;
          log({
            event: 'warning',
            message:
              `the process that ran qilin for npm (pid ${pid}) has exited: stopping gracefully, as on SIGTERM ` +
              '(npm passes SIGTERM and SIGINT only to the shell it runs a script in, which does not pass them on; see docs/deploying.md)',
          });
          void controller.shutdown();
        })
      : () => {};
  return { cluster, signals: controller, admin, stopWatchingParent };
}

/**
 * Starts the admin interface before any worker is forked, so an address it cannot take (in use, a file in
 * the way) stops the command at once with the reason, instead of leaving a cluster nobody can reach. It is
 * one of the cluster's services, which the cluster closes when it stops. Resolves with the failure's message, or null.
 */
async function startAdmin(cluster: Cluster, admin: AdminServer, log: (event: LogEvent) => void): Promise<string | null> {
  cluster.on('adminListening', (address) => log({ event: 'adminListening', address }));
  try {
    await admin.start(cluster);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs the first generation; resolves with null once it started (or a stop came first), or the exit status of a start that failed. */
async function firstStart(plan: Plan, cluster: Cluster, signals: SignalController, inbox: SignalInbox, output: Output): Promise<number | null> {
  const startedAt = Date.now();
  const started = cluster.run();
  inbox.running();
  const outcome = await Promise.race([
    started.then(
      () => 'started' as const,
      (error: unknown) => error,
    ),
    signals.stopped.then(() => 'stopped' as const),
  ]);
  if (outcome === 'started') {
    output.log({ event: 'started', workers: cluster.activeWorkers().length, durationMs: Date.now() - startedAt });
    return null;
  }
  if (outcome === 'stopped' || signals.stopping) return null;
  const reason = outcome instanceof Error ? outcome.message : String(outcome);
  const relative = path.relative(output.cwd, plan.app);
  output.fatal(`cannot start ${relative && !relative.startsWith('..') ? relative : plan.app}: ${reason}`);
  await signals.terminate();
  return EXIT.failed;
}

function stoppedWith(stopped: Stopped, output: Output): number {
  output.log({ event: 'stopped', forced: stopped.forced });
  return stopped.forced ? EXIT.failed : EXIT.ok;
}
