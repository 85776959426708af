// `qilin status|reload|stop|scale|upgrade`: the command-line client of the admin interface, as one function the `qilin` command calls.
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { closestName } from '../suggest.js';
import { MAX_WORKERS } from '../worker-count.js';
import { type AdminAddress, clientAddress, formatAdminAddress, parseAdminAddress } from '../admin/address.js';
import type { InfoAnswer } from '../admin/answers.js';
import type { Secrets } from '../admin/auth.js';
import { type AdminTarget, AdminRequestError, reload, scale, status, stop, upgrade } from './admin-client.js';
import { ADMIN_ENV, ADMIN_FLAGS, type AdminFlags, credentialsFrom } from './admin-config.js';
import { ADMIN_COMMANDS, type AdminCommand } from './admin-command-names.js';
import { renderStatus } from './status-table.js';
import { readWatchFlags, watchStatus } from './status-watch.js';

/** Where the command writes: `process.stdout` and `process.stderr`, or anything with `write`. */
export interface Output {
  write(text: string): unknown;
  /** A terminal: `status --watch` redraws in place. */
  readonly isTTY?: boolean;
}

/** Exit codes: done, the action failed (unreachable, refused, reload failed), or the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** How often `qilin reload` looks at the cluster while it waits, to show progress. */
const PROGRESS_INTERVAL = 500;

export const ADMIN_USAGE = `Usage: qilin <command> [--admin <port | host:port | unix:/path>] [options]

Commands:
  status             the primary and every worker: pid, state, generation, CPU, memory, uptime, restarts,
                     HTTP responses and 5xx
  reload             replace every worker with the code on disk; exits 1 if the reload failed
  stop               stop the cluster gracefully
  scale <N>          change the number of workers to N (0 to ${MAX_WORKERS})
  upgrade            start a new primary from the files on disk (a new Qilin, a new Node.js) on the same
                     sockets; the old one retires its workers once the new ones serve

Options:
  --admin <address>         where the admin interface listens (a bare port means 127.0.0.1); without it, the
                            address and credentials the server reads from ./qilin.config.json or
                            ./qilin-daemon.json (or --config)
  --admin-user <name>       HTTP Basic user name
  --admin-password <secret> HTTP Basic password; better in ${ADMIN_ENV.password}, out of the process list
  --admin-token <secret>    bearer token; better in ${ADMIN_ENV.token}
  -c, --config <file>       the server's config file, for the address and credentials when --admin is not given
  --json                    print the answer as JSON, for scripts
  --no-wait                 reload, scale: return once the action has begun
  --watch                   status: a live view, the table again every --interval (1s) until Ctrl-C, or
                            --count times; with --json, one JSON line per look
  -h, --help                show this help
`;

/** The admin interface as the config file the server reads sets it, for a client run without `--admin`. */
export interface ConfiguredTarget {
  /** Where to connect (a wildcard host already turned into loopback). */
  readonly address: AdminAddress;
  /** The file's credentials, with QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN where it sets none. */
  readonly credentials: Secrets;
}

/**
 * Reads the admin interface from `--config <file>` (as given), or from the config file in the working
 * directory. Resolves with null when there is no config file; throws a CliError when the file cannot be
 * read or sets no admin interface.
 */
export type TargetFromConfig = (config: string | undefined) => Promise<ConfiguredTarget | null>;

/** The message when no address was found anywhere: both ways to give one. */
export const MISSING_ADMIN =
  'Missing --admin: give the address of the admin interface (a port, host:port or unix:/path) with --admin, ' +
  'or run where the qilin.config.json (or qilin-daemon.json) that sets it is, or point at it with --config <file>';

class UsageError extends Error {}

interface Parsed {
  readonly command: AdminCommand;
  readonly workers: number | null;
  readonly address: AdminAddress;
  readonly target: AdminTarget;
  readonly json: boolean;
  readonly wait: boolean;
  /** `status --watch`: how often, and how many times (null: until interrupted). */
  readonly watch: { readonly intervalMs: number; readonly count: number | null } | null;
}

const OPTIONS = {
  ...ADMIN_FLAGS,
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  watch: { type: 'boolean' },
  interval: { type: 'string' },
  count: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const LONG_OPTIONS = Object.keys(OPTIONS).map((name) => `--${name}`);

/** parseArgs' error as one line that names the flag, with the closest known flag when one is close. */
function optionError(error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if ((error as { code?: string }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || !unknown) return new UsageError(message);
  const option = unknown[1] as string;
  const suggestion = option.startsWith('--') ? closestName(option, LONG_OPTIONS) : undefined;
  return new UsageError(suggestion === undefined ? `Unknown option \`${option}\`` : `Unknown option \`${option}\`; did you mean \`${suggestion}\`?`);
}

/** The command line read, before the address is looked for in a config file when `--admin` is not there. */
interface Line extends Omit<Parsed, 'address' | 'target'> {
  readonly values: AdminFlags & { readonly config?: string | undefined };
}

function parse(argv: readonly string[]): Line | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw optionError(error);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError('Missing the command: status, reload, stop, scale or upgrade');
  if (!(ADMIN_COMMANDS as readonly string[]).includes(command)) {
    const suggestion = closestName(command, ADMIN_COMMANDS);
    throw new UsageError(
      `Unknown command \`${command}\`${suggestion === undefined ? '' : `; did you mean \`${suggestion}\`?`}: expected status, reload, stop, scale or upgrade`,
    );
  }
  let workers: number | null = null;
  if (command === 'scale') {
    const [count, ...extra] = rest;
    if (count === undefined || !/^(0|[1-9]\d*)$/.test(count) || Number(count) > MAX_WORKERS) {
      throw new UsageError(
        `\`scale\` needs the number of workers, a whole number from 0 to ${MAX_WORKERS}; got ${count === undefined ? 'nothing' : `\`${count}\``}`,
      );
    }
    if (extra.length > 0) throw new UsageError(`Unexpected argument \`${extra[0]}\``);
    workers = Number(count);
  } else if (rest.length > 0) {
    // PM2's `stop all`, `stop 0`, `reload api`: one qilin runs one app.
    throw new UsageError(`Unexpected argument \`${rest[0]}\`: \`qilin ${command}\` takes no app name or id, it asks the one qilin at its admin address`);
  }
  if ((values['no-wait'] ?? false) && command !== 'reload' && command !== 'scale') throw new UsageError('--no-wait applies to reload and scale only');
  return {
    command: command as AdminCommand,
    workers,
    values,
    json: values.json ?? false,
    wait: !(values['no-wait'] ?? false),
    watch: watchFlags(command, values),
  };
}

function watchFlags(command: string, values: Parameters<typeof readWatchFlags>[1]): Parsed['watch'] {
  const read = readWatchFlags(command, values);
  if (typeof read === 'string') throw new UsageError(read);
  return read;
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

/**
 * Where to connect, and with what: `--admin` and the credential flags (or QILIN_ADMIN_PASSWORD and
 * QILIN_ADMIN_TOKEN); without `--admin`, the config file's address and credentials, each credential flag
 * still winning over the file's.
 */
async function targetOf(line: Line, env: Readonly<Record<string, string | undefined>>, fromConfig: TargetFromConfig | undefined): Promise<Parsed> {
  const { values } = line;
  if (values.admin === undefined) {
    const configured = fromConfig ? await fromConfig(values.config) : null;
    if (configured === null) throw new UsageError(MISSING_ADMIN);
    const credentials: Secrets = {
      username: nonEmpty(values['admin-user']) ?? configured.credentials.username,
      password: nonEmpty(values['admin-password']) ?? configured.credentials.password,
      token: nonEmpty(values['admin-token']) ?? configured.credentials.token,
    };
    return { ...line, address: configured.address, target: { address: configured.address, credentials } };
  }
  const given = parseAdminAddress(values.admin);
  if (!given) throw new UsageError(`--admin must be a port, host:port, [ipv6]:port or unix:/path; got \`${values.admin}\``);
  const address = clientAddress(given);
  const credentials = credentialsFrom(values, env);
  if (credentials.password !== undefined && credentials.username === undefined && credentials.token === undefined) {
    throw new UsageError('A password needs a user name: add --admin-user');
  }
  if (credentials.username !== undefined && credentials.password === undefined) {
    throw new UsageError(`--admin-user needs a password: --admin-password, or ${ADMIN_ENV.password}`);
  }
  return { ...line, address, target: { address, credentials } };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Shows, while a reload runs, how many workers of the new generation are ready; stops when `done` settles. */
function showProgress(target: AdminTarget, stdout: Output, done: Promise<unknown>): Promise<void> {
  let finished = false;
  let last = '';
  const settled = done.then(
    () => undefined,
    () => undefined,
  );
  void settled.then(() => (finished = true));
  const loop = async (): Promise<void> => {
    while (!finished) {
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, PROGRESS_INTERVAL).unref())]);
      if (finished) return;
      let info: InfoAnswer;
      try {
        info = await status(target);
      } catch {
        continue;
      }
      const reloading = info.cluster.reloading;
      if (!reloading || finished) continue;
      const ready = info.workers.filter((w) => w.generation === reloading.generation && w.state === 'ready').length;
      const line = `generation ${reloading.generation}: ${ready} of ${info.cluster.slots} new workers ready`;
      if (line !== last) stdout.write(`${line}\n`);
      last = line;
    }
  };
  return loop();
}

async function run(options: Parsed, stdout: Output, stderr: Output): Promise<number> {
  const { target } = options;
  switch (options.command) {
    case 'status': {
      if (options.watch) return watchStatus(target, stdout, { ...options.watch, json: options.json, address: formatAdminAddress(options.address) });
      const info = await status(target);
      stdout.write(options.json ? json(info) : renderStatus(info));
      return EXIT.ok;
    }
    case 'reload': {
      if (!options.json) stdout.write(`Reloading the cluster at ${formatAdminAddress(options.address)}...\n`);
      const outcome = reload(target, { wait: options.wait });
      const progress = options.json || !options.wait ? Promise.resolve() : showProgress(target, stdout, outcome);
      const answer = await outcome;
      await progress;
      if (options.json) stdout.write(json(answer ?? { reloading: true }));
      if (answer === null) {
        if (!options.json) stdout.write('The reload has begun (not waiting for its outcome).\n');
        return EXIT.ok;
      }
      if (answer.outcome === 'failed') {
        const stderrLines = answer.stderr.length > 0 ? `\n  last stderr lines:\n${answer.stderr.map((l) => `    ${l}`).join('\n')}` : '';
        stderr.write(`Reload to generation ${answer.generation} failed: ${answer.reason}; the previous workers keep serving.${stderrLines}\n`);
        return EXIT.failed;
      }
      if (!options.json) stdout.write(`Reloaded: generation ${answer.generation} serves every slot (${(answer.durationMs / 1000).toFixed(1)} s).\n`);
      return EXIT.ok;
    }
    case 'stop':
      await stop(target);
      stdout.write(options.json ? json({ stopping: true }) : 'The cluster is stopping: workers finish their requests, then the primary exits.\n');
      return EXIT.ok;
    case 'upgrade': {
      if (!options.json) stdout.write(`Upgrading the primary at ${formatAdminAddress(options.address)}...\n`);
      const { pid } = await upgrade(target);
      stdout.write(options.json ? json({ pid }) : `Upgraded: the new primary (pid ${pid}) serves; the old one retires its workers and exits.\n`);
      return EXIT.ok;
    }
    case 'scale': {
      const workers = options.workers ?? 0;
      await scale(target, workers, { wait: options.wait });
      if (options.json) stdout.write(json({ workers }));
      else stdout.write(options.wait ? `Scaled to ${workers} workers.\n` : `Scaling to ${workers} workers (not waiting).\n`);
      return EXIT.ok;
    }
    default:
      return EXIT.usage;
  }
}

/**
 * Runs `qilin status|reload|stop|scale` with `argv` (the arguments after `qilin`, command first) and returns
 * the exit code: 0 done, 1 failed, 2 wrong usage. The address and credentials come from the flags (credentials
 * else from QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN in `env`); without `--admin`, from `fromConfig`, the
 * config file the server reads. Never exits the process: the caller does.
 */
export async function runAdminCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stdout: Output,
  stderr: Output,
  fromConfig?: TargetFromConfig,
): Promise<number> {
  let options: Parsed;
  try {
    const line = parse(argv);
    if (line === 'help') {
      stdout.write(ADMIN_USAGE);
      return EXIT.ok;
    }
    options = await targetOf(line, env, fromConfig);
  } catch (error) {
    if (error instanceof CliError) {
      // The config file is wrong: the message names it and the key, the usage would only hide that.
      stderr.write(`qilin: ${error.message}\n`);
      return error.exitCode;
    }
    if (!(error instanceof UsageError)) throw error;
    stderr.write(`qilin: ${error.message}\n\n${ADMIN_USAGE}`);
    return EXIT.usage;
  }
  try {
    return await run(options, stdout, stderr);
  } catch (error) {
    if (!(error instanceof AdminRequestError)) throw error;
    const hint =
      error.status === 401
        ? `\nGive credentials with --admin-user and --admin-password (or ${ADMIN_ENV.password}), or --admin-token (or ${ADMIN_ENV.token}).`
        : '';
    stderr.write(`qilin: ${error.message}${hint}\n`);
    return EXIT.failed;
  }
}
