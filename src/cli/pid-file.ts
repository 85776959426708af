// The pid file: claimed whole and exclusively at start (refused over a running instance), removed on exit.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, linkSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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

/** The pid a pid file names, or null when it is missing, empty, not a pid, or a symlink (never followed). */
function readPidFile(file: string): number | null {
  let text: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Where hard links are not supported (some network and FUSE file systems), creating the file exclusively. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Creates `file` holding this pid only if nothing (a file, a symlink) is at its name yet; false if something is. */
function createFrom(temporary: string, file: string, self: number): boolean {
  try {
    try {
      linkSync(temporary, file);
    } catch (error) {
      if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      writeExclusive(file, `${self}\n`);
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
 * The file is created whole and only if nothing is at its name (this pid in a temporary file beside it, made
 * exclusively under a random name, hard-linked to its name), so of two instances started at once exactly one gets it. A stale file (the
 * process is gone, or it names this process, as after a container restart where both are pid 1) is
 * replaced by renaming the temporary file over it, which never leaves the name empty; that is done under a
 * lock (`<file>.lock`, made the same way), and the file is read again under it, so of two instances
 * replacing the same stale file one does and the other then finds it running. Nothing is ever written or
 * read through a symlink: a link planted at the file's name is stale, and is replaced, not followed.
 */
/**
 * Writes `text` to a new file at `file`, created exclusively (O_EXCL: a file or a symlink already there is an
 * error, never followed) and never through a symlink on the way (O_NOFOLLOW).
 */
function writeExclusive(file: string, text: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** A temporary file beside `file` holding `text`, under a name nobody can guess in advance (so nobody can plant a link there). */
function temporaryBeside(file: string, text: string): string {
  for (let attempt = 0; ; attempt += 1) {
    const temporary = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      writeExclusive(temporary, text);
      return temporary;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
    }
  }
}

/** `replacing`: the pid of the primary this one upgrades, whose file it takes over while that one still runs. */
export function claimPidFile(file: string, self = process.pid, replacing: number | null = null): void {
  let temporary: string | null = null;
  const lock = `${file}.lock`;
  const cannot = (why: string): CliError => new CliError('ERR_QILIN_CANNOT_START', `Cannot write the pid file ${file}: ${why}`);
  const running = (pid: number): CliError =>
    new CliError(
      'ERR_QILIN_CANNOT_START',
      `The pid file ${file} names process ${pid}, which is running: is another qilin running? Stop it, or remove the file if it is not qilin.`,
    );
  const holderOf = (name: string): number | null => {
    const pid = readPidFile(name);
    return pid !== null && pid !== self && pid !== replacing && isRunning(pid) ? pid : null;
  };
  try {
    temporary = temporaryBeside(file, `${self}\n`);
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
        } else if (locker === null && lstatSync(lock, { throwIfNoEntry: false }) !== undefined) {
          // Something that holds no pid (a symlink, a stray file) is in the way: qilin's locks are written whole.
          throw cannot(`${lock} is in the way and is not a lock qilin made; remove it`);
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
    if (temporary !== null) rmSync(temporary, { force: true });
  }
}

/** Removes the pid file if it still names this process (another instance may have replaced it). */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPidFile(file) === pid) rmSync(file, { force: true });
}
