// The `qilin` command from start to exit: settings, checks, the cluster, signals, log lines, pid file, exit status.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../cluster.js';
import { recluster } from '../recluster.js';
import { FileWatcher } from '../watch.js';
import { parseCommandLine } from './args.js';
import { findConfigFile, loadConfigFile } from './config.js';
import { CliError, EXIT } from './errors.js';
import { type LogEvent, type LogFormat, formatLine } from './format.js';
import { HELP, packageVersion } from './help.js';
import { checkPidFile, removePidFile, writePidFile } from './pid-file.js';
import { reportEvents } from './reporter.js';
import { type Plan, type SourcedSettings, mergeSettings, planFrom } from './settings.js';
import { HANDLED_SIGNALS, SignalController } from './signals.js';

/** Reads flags and config file into a checked plan. Throws a CliError naming what is wrong. */
export async function planCommand(argv: readonly string[], cwd: string): Promise<Plan | 'help' | 'version'> {
  const line = parseCommandLine(argv);
  if (line.help) return 'help';
  if (line.version) return 'version';
  const configFile = findConfigFile(cwd, line.config);
  const fromFile: SourcedSettings = configFile ? await loadConfigFile(configFile) : { settings: {}, origins: new Map() };
  return planFrom(mergeSettings(fromFile, line.flags), cwd, (base, p) => path.resolve(base, p));
}

function assertAppExists(app: string): void {
  let isFile = false;
  try {
    isFile = statSync(app).isFile();
  } catch {
    throw new CliError('ERR_QILIN_CANNOT_START', `Cannot start: the app file ${app} does not exist`);
  }
  if (!isFile) throw new CliError('ERR_QILIN_CANNOT_START', `Cannot start: ${app} is not a file`);
}

function writeLine(stream: NodeJS.WriteStream, line: string): void {
  try {
    stream.write(`${line}\n`);
  } catch {
    // A closed stdout (a pipe whose reader went away) must not take the cluster down.
  }
}

/**
 * Adds a hook for the admin interface (daemon_port, auth_username, auth_password). This build has no
 * admin server: the settings are accepted and kept in the plan, and the operator is told they are not
 * in effect. When the admin interface lands, start it here as a ClusterService: `cluster.attach(...)`.
 */
function attachAdmin(_cluster: Cluster, plan: Plan, log: (event: LogEvent) => void): void {
  if (!plan.admin) return;
  const keys = [
    plan.admin.port !== undefined ? 'daemon_port' : null,
    plan.admin.username !== undefined ? 'auth_username/auth_password' : null,
  ].filter(Boolean);
  log({ event: 'warning', message: `the admin interface is not enabled in this build: ${keys.join(', ')} ignored` });
}

/** Runs the command; resolves with the exit status. Never calls process.exit itself. */
export async function runCommand(argv: readonly string[]): Promise<number> {
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
    assertAppExists(plan.app);
    if (plan.pidFile) checkPidFile(plan.pidFile);
  } catch (error) {
    if (error instanceof CliError) {
      fatal(error.message);
      return error.exitCode;
    }
    throw error;
  }

  if (plan.psName) process.title = plan.psName;
  const { watch: _watch, ...clusterOptions } = plan.clusterOptions;
  const cluster = recluster(plan.app, clusterOptions);
  const watcher = plan.options.watch ? new FileWatcher(plan.options.watch) : undefined;
  if (watcher) cluster.attach(watcher);
  reportEvents(cluster, log, watcher);
  if (plan.options.silent) {
    // Silent workers' stdout is a pipe: keep it drained so a chatty worker never blocks on a full pipe.
    cluster.on('fork', (worker) => worker.process.stdout?.resume());
  }
  attachAdmin(cluster, plan, log);

  const controller = new SignalController(cluster, plan.options.workers, log);
  const listeners = HANDLED_SIGNALS.map((signal) => {
    const listener = (): void => controller.handle(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });

  let pidFileWritten = false;
  let status: number = EXIT.ok;
  try {
    log({ event: 'start', version: packageVersion(), app: plan.app, workers: plan.options.workers, pid: process.pid });
    const startedAt = Date.now();
    const outcome = await Promise.race([
      cluster.run().then(
        () => 'started' as const,
        (error: unknown) => error,
      ),
      controller.stopped.then(() => 'stopped' as const),
    ]);
    if (outcome === 'started') {
      log({ event: 'started', workers: cluster.activeWorkers().length, durationMs: Date.now() - startedAt });
      if (plan.pidFile) {
        try {
          writePidFile(plan.pidFile);
          pidFileWritten = true;
        } catch (error) {
          fatal((error as Error).message);
          status = EXIT.failed;
          controller.shutdown();
        }
      }
    } else if (outcome !== 'stopped' && !controller.stopping) {
      const reason = outcome instanceof Error ? outcome.message : String(outcome);
      fatal(`cannot start ${path.relative(cwd, plan.app) || plan.app}: ${reason}`);
      await controller.terminate();
      return EXIT.failed;
    }
    const stopped = await controller.stopped;
    log({ event: 'stopped', forced: stopped.forced });
    return stopped.forced ? EXIT.failed : status;
  } finally {
    if (pidFileWritten && plan.pidFile) removePidFile(plan.pidFile);
    for (const [signal, listener] of listeners) process.off(signal, listener);
  }
}
