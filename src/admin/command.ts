// `qilin status|reload|stop|scale`: the command-line client of the admin interface, as one function the `qilin` command calls.
import { parseArgs } from 'node:util';
import { type AdminAddress, formatAdminAddress, parseAdminAddress } from './address.js';
import type { InfoAnswer } from './answers.js';
import { type AdminTarget, AdminRequestError, reload, scale, status, stop } from './client.js';
import { ADMIN_ENV, ADMIN_FLAGS, credentialsFrom } from './config.js';
import { ADMIN_COMMANDS, type AdminCommand } from './command-names.js';
import { renderStatus } from './status-table.js';

/** Where the command writes: `process.stdout` and `process.stderr`, or anything with `write`. */
export interface Output {
  write(text: string): unknown;
}

/** Exit codes: done, the action failed (unreachable, refused, reload failed), or the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** How often `qilin reload` looks at the cluster while it waits, to show progress. */
const PROGRESS_INTERVAL = 500;

export const ADMIN_USAGE = `Usage: qilin <command> --admin <port | host:port | unix:/path> [options]

Commands:
  status             the primary and every worker: pid, state, generation, CPU, memory, uptime, restarts
  reload             replace every worker with the code on disk; exits 1 if the reload failed
  stop               stop the cluster gracefully
  scale <N>          change the number of workers to N

Options:
  --admin <address>         where the admin interface listens (a bare port means 127.0.0.1)
  --admin-user <name>       HTTP Basic user name
  --admin-password <secret> HTTP Basic password; better in ${ADMIN_ENV.password}, out of the process list
  --admin-token <secret>    bearer token; better in ${ADMIN_ENV.token}
  --json                    print the answer as JSON, for scripts
  --no-wait                 reload, scale: return once the action has begun
  -h, --help                show this help
`;

class UsageError extends Error {}

interface Parsed {
  readonly command: AdminCommand;
  readonly workers: number | null;
  readonly address: AdminAddress;
  readonly target: AdminTarget;
  readonly json: boolean;
  readonly wait: boolean;
}

function parse(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Parsed | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...ADMIN_FLAGS, json: { type: 'boolean' }, 'no-wait': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError('Missing the command: status, reload, stop or scale');
  if (!(ADMIN_COMMANDS as readonly string[]).includes(command)) throw new UsageError(`Unknown command \`${command}\`: expected status, reload, stop or scale`);
  let workers: number | null = null;
  if (command === 'scale') {
    const [count, ...extra] = rest;
    if (count === undefined || !/^(0|[1-9]\d{0,3})$/.test(count)) throw new UsageError(`\`scale\` needs the number of workers, a whole number such as 4; got ${count === undefined ? 'nothing' : `\`${count}\``}`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument \`${extra[0]}\``);
    workers = Number(count);
  } else if (rest.length > 0) {
    throw new UsageError(`Unexpected argument \`${rest[0]}\``);
  }
  if (values.admin === undefined) throw new UsageError('Missing --admin: the address of the admin interface (a port, host:port or unix:/path)');
  const address = parseAdminAddress(values.admin);
  if (!address) throw new UsageError(`--admin must be a port, host:port, [ipv6]:port or unix:/path; got \`${values.admin}\``);
  const credentials = credentialsFrom(values, env);
  if (credentials.password !== undefined && credentials.username === undefined && credentials.token === undefined) {
    throw new UsageError('A password needs a user name: add --admin-user');
  }
  if (credentials.username !== undefined && credentials.password === undefined) {
    throw new UsageError(`--admin-user needs a password: --admin-password, or ${ADMIN_ENV.password}`);
  }
  if ((values['no-wait'] ?? false) && command !== 'reload' && command !== 'scale') throw new UsageError('--no-wait applies to reload and scale only');
  return {
    command: command as AdminCommand,
    workers,
    address,
    target: { address, credentials },
    json: values.json ?? false,
    wait: !(values['no-wait'] ?? false),
  };
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
 * the exit code: 0 done, 1 failed, 2 wrong usage. Credentials come from the flags, else from
 * QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN in `env`. Never exits the process: the caller does.
 */
export async function runAdminCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, stdout: Output, stderr: Output): Promise<number> {
  let options: Parsed | 'help';
  try {
    options = parse(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr.write(`qilin: ${error.message}\n\n${ADMIN_USAGE}`);
    return EXIT.usage;
  }
  if (options === 'help') {
    stdout.write(ADMIN_USAGE);
    return EXIT.ok;
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
