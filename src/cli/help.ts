// The text of `qilin --help`, and the package version for `qilin --version`.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_OPTIONS, OPTIONS } from '../option-table.js';

/** Where a flag's help text begins in `--help`. */
const HELP_COLUMN = 29;

/** The help lines of the library's options, from the option table, in its order. */
function optionLines(): string {
  return CORE_OPTIONS.flatMap((key) => {
    const flag = OPTIONS[key].flag;
    if (!flag) return [];
    const name = `${flag.short ? `-${flag.short}, ` : '    '}--${flag.name}${flag.placeholder ? ` ${flag.placeholder}` : ''}`;
    return [`  ${name}`.padEnd(HELP_COLUMN) + flag.help];
  }).join('\n');
}

export const HELP = `Usage: qilin [options] <app.js> [-- app arguments...]
       qilin <status | reload | stop | scale <n>> [--admin <address>] [options]

Runs app.js in a cluster of worker processes that reloads without dropping a request.

Options:
${optionLines()}
      --pid-file <path>      Write the primary's pid here at start; refuse to start if it names a running process
      --watch <path>         Reload when a file under this path changes (repeatable: files or folders)
      --watch-delay <d>      Quiet period after the last change before the reload (default: 500ms)
      --ignore <glob>        Do not watch matching paths (repeatable); node_modules and dot-entries are never watched
      --watch-ext <list>     Extensions whose changes reload, replacing the defaults: js,ts,hbs, or '*' for every file
                             (default: js,mjs,cjs,jsx,ts,mts,cts,tsx,json,json5,yaml,yml,toml; never log files or qilin's own output)
  -c, --config <file>        Read settings from a .json, .js or .mjs file (default: ./qilin.config.json or ./qilin-daemon.json)
      --log-format <f>       human | json: one line per event, as text or JSON lines (default: human)
      --admin <address>      Open the admin HTTP interface on a port (127.0.0.1), host:port or unix:/path
      --admin-user <name>    Its HTTP Basic user name
      --admin-password <p>   Its HTTP Basic password; better in QILIN_ADMIN_PASSWORD, out of the process list
      --admin-token <t>      Its bearer token; better in QILIN_ADMIN_TOKEN
      --admin-public-health  Let /healthz and /readyz answer without credentials
      --admin-ready-threshold <n>  Slots that need a ready worker for /readyz: a number or a share, 50% (default: 100%)
  -h, --help                 Show this help
  -V, --version              Show the version

Commands, to a running qilin through its admin interface (the command must be the first word;
run an app file named like one as ./status):
  qilin status               Every worker: pid, state, generation, CPU, memory, uptime, restarts, HTTP responses (--json)
  qilin reload               Reload and wait for the outcome; exits 1 if it failed (--no-wait: return at once)
  qilin stop                 Stop gracefully
  qilin scale <n>            Change the number of workers
  Each takes --admin <address> and the credentials as above; without --admin, they are read from the config
  file the server reads (./qilin.config.json or ./qilin-daemon.json, or -c <file>). \`qilin status --help\` for more.

Coming from PM2: qilin runs the app in the foreground, \`qilin -w 4 app.js\` (no start, no -i); restart is
\`qilin reload\`, list and monit are \`qilin status\`. A PM2 command or flag is answered with Qilin's form.

Durations (<d>): a number is seconds; a string takes a unit: 500ms, 30s, 2m.

Signals to the qilin process:
  SIGUSR2, SIGHUP    reload: new workers start, the old ones retire once they are ready
  SIGTERM, SIGINT    graceful shutdown; a second one kills the workers at once
  SIGTTIN, SIGTTOU   one worker more, one worker less
  SIGUSR1            upgrade: a new primary from the files on disk takes over the sockets (as qilin upgrade)

Exit status: 0 after a clean shutdown; 1 when the app or the admin interface cannot start, or the shutdown was
forced; 2 for bad flags or config. Commands: 0 done; 1 unreachable, refused or the reload failed; 2 bad usage.
Docs: docs/cli.md, docs/admin.md and docs/deploying.md in the qilin package.
`;

/** The version in qilin's package.json, found by walking up from this file (dist/ or src/cli/). */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i += 1) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'qilin' && typeof pkg.version === 'string') return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
