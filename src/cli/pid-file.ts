// The pid file: claimed whole and exclusively at start (refused over a running instance), removed on exit.
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { CliError } from './errors.js';

/** True while a process with this pid exists (EPERM: it exists, but belongs to someone else). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a pid file names, or null when it is missing, empty or not a pid. */
function readPidFile(file: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Where hard links are not supported (some network and FUSE file systems), creating the file exclusively. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Creates `file` holding this pid only if it does not exist yet; false if it does. */
function createFrom(temporary: string, file: string, self: number): boolean {
  try {
    try {
      linkSync(temporary, file);
    } catch (error) {
      if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      writeFileSync(file, `${self}\n`, { flag: 'wx', mode: 0o644 });
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

const pause = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Claims the pid file for this process at start, before anything forks, or throws when it names another
 * running process: another instance runs.
 *
 * The file is created whole and only if it does not exist (this pid in a temporary file beside it,
 * hard-linked to its name), so of two instances started at once exactly one gets it. A stale file (the
 * process is gone, or it names this process, as after a container restart where both are pid 1) is
 * replaced by renaming the temporary file over it, which never leaves the name empty; that is done under a
 * lock (`<file>.lock`, made the same way), and the file is read again under it, so of two instances
 * replacing the same stale file one does and the other then finds it running.
 */
export function claimPidFile(file: string, self = process.pid): void {
  const temporary = `${file}.${self}.tmp`;
  const lock = `${file}.lock`;
  const cannot = (why: string): CliError => new CliError('ERR_QILIN_CANNOT_START', `Cannot write the pid file ${file}: ${why}`);
  const running = (pid: number): CliError =>
    new CliError('ERR_QILIN_CANNOT_START', `The pid file ${file} names process ${pid}, which is running: is another qilin running? Stop it, or remove the file if it is not qilin.`);
  const holderOf = (name: string): number | null => {
    const pid = readPidFile(name);
    return pid !== null && pid !== self && isRunning(pid) ? pid : null;
  };
  try {
    writeFileSync(temporary, `${self}\n`, { mode: 0o644 });
    // Each turn that does not end it lost a race with another instance; 100 turns is about a second.
    for (let turn = 0; turn < 100; turn += 1) {
      if (createFrom(temporary, file, self)) return;
      const holder = holderOf(file);
      if (holder !== null) throw running(holder);
      if (!createFrom(temporary, lock, self)) {
        const locker = readPidFile(lock);
        if (locker === self) {
          // Left by an earlier life of this very pid (a restarted container): nobody else can hold it.
          rmSync(lock, { force: true });
        } else if (locker !== null && !isRunning(locker)) {
          // Only an instance killed while it replaced a stale file leaves the lock, and only a person can
          // tell that no instance is in the middle of that now.
          throw cannot(`${lock} is left by an instance stopped while it replaced a stale pid file; remove it`);
        } else {
          // Another instance is replacing the file (or the lock just went): look again in a moment.
          pause(10);
        }
        continue;
      }
      try {
        // Read again under the lock: another instance may have replaced the stale file since.
        if (!existsSync(file)) continue;
        const current = holderOf(file);
        if (current !== null) throw running(current);
        renameSync(temporary, file);
        return;
      } finally {
        rmSync(lock, { force: true });
      }
    }
    throw cannot('other instances kept changing it');
  } catch (error) {
    throw error instanceof CliError ? error : cannot((error as Error).message);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Removes the pid file if it still names this process (another instance may have replaced it). */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPidFile(file) === pid) rmSync(file, { force: true });
}
