// The pid file: refuse to start over a running instance, write it atomically once started, remove it on exit.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { CliError } from './errors.js';

/** True while a process with this pid exists (EPERM: it exists, but belongs to someone else). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a pid file names, or null when it is missing, empty or not a pid. */
export function readPidFile(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Throws when the pid file names a running process other than this one: another instance runs. A stale
 * file (the process is gone, or it names this process, as after a container restart where both are pid 1)
 * is left to be replaced.
 */
export function checkPidFile(file: string, self = process.pid): void {
  const pid = readPidFile(file);
  if (pid !== null && pid !== self && isRunning(pid)) {
    throw new CliError('ERR_QILIN_CANNOT_START', `The pid file ${file} names process ${pid}, which is running: is another qilin running? Stop it, or remove the file if it is not qilin.`);
  }
}

/** Writes the pid file atomically: a temporary file beside it, renamed over it, so a reader never sees it half-written. */
export function writePidFile(file: string, pid = process.pid): void {
  const temporary = `${file}.${pid}.tmp`;
  try {
    writeFileSync(temporary, `${pid}\n`, { mode: 0o644 });
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CliError('ERR_QILIN_CANNOT_START', `Cannot write the pid file ${file}: ${(error as Error).message}`);
  }
}

/** Removes the pid file if it still names this process (another instance may have replaced it). */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPidFile(file) === pid) rmSync(file, { force: true });
}
