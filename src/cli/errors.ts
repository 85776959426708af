// Errors of the `qilin` command, each with a stable code and the exit status the command ends with.

/** Codes of the command's own errors; documented in docs/cli.md. */
export type CliErrorCode =
  /** A wrong flag, a missing app, an argument in the wrong place. Exit status 2. */
  | 'ERR_QILIN_USAGE'
  /** A config file that cannot be read, or holds an unknown key or a wrong value. Exit status 2. */
  | 'ERR_QILIN_CONFIG'
  /** The app file does not exist, or the pid file names a running process. Exit status 1. */
  | 'ERR_QILIN_CANNOT_START';

/** Exit statuses of the command. */
export const EXIT = {
  /** Clean shutdown, or --help / --version. */
  ok: 0,
  /** The app could not start, or the shutdown had to be forced. */
  failed: 1,
  /** Bad flags or config. */
  usage: 2,
} as const;

/** An error the command reports in one message and exits on, without a stack trace. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = code === 'ERR_QILIN_CANNOT_START' ? EXIT.failed : EXIT.usage;
  }
}
