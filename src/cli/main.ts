#!/usr/bin/env node
// Entry point of the `qilin` command: runs it and exits with its status.
import { runCommand } from './run.js';

runCommand(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`qilin: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
