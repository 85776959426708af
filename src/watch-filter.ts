// Which changes the file watcher counts: code and config files by name, never log files, never the primary's own output. Pure: stats are given.
import path from 'node:path';

/** A log file by its name: `app.log`, `npm-debug.log`, and rotated ones (`app.log.1`, `app.log.2.gz`, `app.log-20240101`). */
const LOG_FILE = /\.log(?:[.-]\d+)*(?:\.(?:gz|bz2|xz|zst))?$/i;

/** True if `file`'s name is a log file's. */
export function isLogFile(file: string): boolean {
  return LOG_FILE.test(path.basename(file));
}

/**
 * A predicate telling whether a change to `file` (a folder when `folder`) counts, by its name. A watched path
 * itself always counts: a file named explicitly, whatever its extension, and a watched folder removed or made
 * again. Below a watched folder, a file counts if its name ends with `.` and one of `extensions` (lower case,
 * compared without regard to case) and it is not a log file; `extensions` null counts every file but log
 * files, and then every folder made or removed too, as any change counts.
 */
export function changeMatcher(roots: readonly string[], extensions: readonly string[] | null): (file: string, folder: boolean) => boolean {
  const named = new Set(roots.map((root) => path.resolve(root)));
  const endings = extensions === null ? null : extensions.map((ext) => `.${ext}`);
  return (file, folder) => {
    const absolute = path.resolve(file);
    if (named.has(absolute)) return true;
    if (folder) return endings === null;
    if (isLogFile(absolute)) return false;
    const name = path.basename(absolute).toLowerCase();
    return endings === null || endings.some((ending) => name.endsWith(ending));
  };
}

/** What identifies a file whatever its name or the links to it: its device and inode. */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/** What `fs.fstatSync(fd, { bigint: true })` gives that matters here. */
export interface FileStats extends FileIdentity {
  isFile(): boolean;
}

/** The regular files among the stats of the process's stdout and stderr (a terminal, a pipe or /dev/null is none); undefined: that fd is closed. */
export function outputFiles(stats: readonly (FileStats | undefined)[]): FileIdentity[] {
  return stats.filter((s): s is FileStats => s?.isFile() === true).map(({ dev, ino }) => ({ dev, ino }));
}

/** True if `stats` are those of one of `outputs`: the same device and inode, by whatever name it was reached. */
export function isOutputFile(stats: FileIdentity, outputs: readonly FileIdentity[]): boolean {
  return outputs.some((output) => output.dev === stats.dev && output.ino === stats.ino);
}
