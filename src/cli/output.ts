// The command's own output: log lines in the plan's format on stdout, fatal errors on stderr (and as a log line in JSON); and the check that the app file is there, with a hint when a command was meant.
import { statSync } from 'node:fs';
import path from 'node:path';
import { closestName } from '../suggest.js';
import { ADMIN_COMMANDS } from './admin-command-names.js';
import { CliError } from './errors.js';
import { type LogEvent, type LogFormat, formatLine } from './format.js';

export function assertAppExists(app: string): void {
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

export function writeLine(stream: NodeJS.WriteStream, line: string): void {
  try {
    stream.write(`${line}\n`);
  } catch {
    // A stream already destroyed throws here; a closed pipe reports later, on the listener added at start.
  }
}

/** The command's output: log lines in the plan's format, and fatal errors on stderr (and as a log line in JSON). */
export class Output {
  format: LogFormat = 'human';
  readonly cwd: string;

  constructor(cwd: string) {
    this.cwd = cwd;
  }

  log = (event: LogEvent): void => writeLine(process.stdout, formatLine(event, new Date(), this.format, this.cwd));

  fatal(message: string): void {
    writeLine(process.stderr, `qilin: ${message}`);
    if (this.format === 'json') this.log({ event: 'error', message });
  }
}
