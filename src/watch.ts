// The file watcher: a cluster service that reloads once after a quiet period following the last change to watched files.
import { fstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import { EventEmitter } from 'eventemitter3';
import type { Cluster, ClusterService } from './cluster.js';
import { DEFAULT_WATCH_EXTENSIONS, type ResolvedWatch } from './options.js';
import { type FileIdentity, type FileStats, changeMatcher, isOutputFile, outputFiles } from './watch-filter.js';

/** Events of a FileWatcher. */
export interface FileWatcherEvents {
  /** Watching has begun: changes from now on are seen. */
  ready: [paths: readonly string[]];
  /** Files changed and the quiet period has passed: a reload is being asked for. `files` are absolute, in order of first change. */
  change: [files: readonly string[]];
  /** The watcher failed (a folder that cannot be read, too many watches). Watching goes on where it can. */
  error: [error: Error];
}

/**
 * Collects changes and fires once `delay` ms after the last of them (a trailing debounce): saving twenty
 * files, or a build writing a folder, is one reload. Pure timing logic, apart from the file system.
 */
export class QuietPeriod {
  readonly #delay: number;
  readonly #fire: (files: readonly string[]) => void;
  #timer: NodeJS.Timeout | null = null;
  #files = new Set<string>();

  constructor(delay: number, fire: (files: readonly string[]) => void) {
    this.#delay = delay;
    this.#fire = fire;
  }

  /** A change: restarts the quiet period. */
  touch(file: string): void {
    this.#files.add(file);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const files = [...this.#files];
      this.#files = new Set();
      this.#fire(files);
    }, this.#delay);
  }

  /** True while changes wait for the quiet period to end. */
  get pending(): boolean {
    return this.#timer !== null;
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#files.clear();
  }
}

/** How often the watched folders themselves are looked at (RootFolders). */
const ROOT_CHECK_MS = 1000;

/**
 * The watched paths that are folders, each with the inode chokidar last saw it at (null: removed), so that a
 * removal or replacement chokidar did not report can be found by looking at the folder.
 */
class RootFolders {
  readonly #known = new Map<string, number | null>();

  constructor(paths: readonly string[]) {
    for (const given of paths) {
      const dir = path.resolve(given);
      const stats = statSync(dir, { throwIfNoEntry: false });
      if (stats?.isDirectory()) this.#known.set(dir, stats.ino);
    }
  }

  /** chokidar reported `dir` added or removed; true if it is a watched folder. */
  seen(dir: string, present: boolean): boolean {
    const resolved = path.resolve(dir);
    if (!this.#known.has(resolved)) return false;
    this.#known.set(resolved, present ? inodeOf(resolved) : null);
    return true;
  }

  /** The watched folders that were removed, made again or replaced without chokidar reporting it; now known. */
  missed(): string[] {
    const missed: string[] = [];
    for (const [dir, known] of this.#known) {
      const now = inodeOf(dir);
      if (now === known) continue;
      this.#known.set(dir, now);
      missed.push(dir);
    }
    return missed;
  }
}

function inodeOf(file: string): number | null {
  return statSync(file, { throwIfNoEntry: false })?.ino ?? null;
}

/**
 * The files the primary's stdout and stderr are written to, when they are files (`qilin --watch . app.js >
 * out.txt`), which workers write to as well unless silent: a change to one is the process's own output, and
 * reloading on it would reload forever. Known by device and inode, which need no /proc and hold through
 * symlinks and renames.
 */
class OwnOutput {
  readonly #files: FileIdentity[];
  /** Paths seen to be one of them: the removal of one (a log rotated away) cannot be stat'ed, and does not count either. */
  readonly #paths = new Set<string>();

  constructor() {
    this.#files = outputFiles([1, 2].map((fd) => fstatOf(fd)));
    // Where /proc tells the paths at once (Linux), a removal before any write is known too.
    for (const fd of [1, 2]) {
      try {
        this.has(readlinkSync(`/proc/self/fd/${fd}`));
      } catch {
        // No /proc, or not a path: the files are found by their inode as they change.
      }
    }
  }

  /** True if `file` is one of the primary's output files. */
  has(file: string): boolean {
    if (this.#files.length === 0) return false;
    if (this.#paths.has(file)) return true;
    let stats: FileIdentity | undefined;
    try {
      stats = statSync(file, { bigint: true, throwIfNoEntry: false });
    } catch {
      return false; // Gone or unreadable by now (ENOTDIR, EACCES): not a file this process writes to.
    }
    if (!stats || !isOutputFile(stats, this.#files)) return false;
    this.#paths.add(file);
    return true;
  }
}

/** The files under `dir` (at most MAX_LISTED), or none if it cannot be read. */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .slice(0, MAX_LISTED)
      .map((entry) => path.join(entry.parentPath ?? (entry as { path?: string }).path ?? dir, entry.name));
  } catch {
    return [];
  }
}

/** How many files of a folder made again are listed as changed: enough to say what changed, not a whole build. */
const MAX_LISTED = 100;

function fstatOf(fd: number): FileStats | undefined {
  try {
    return fstatSync(fd, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Watches files and folders with chokidar and reloads the cluster once after each burst of changes to the
 * files that count (watch-filter.ts): code and config files, never log files or the primary's own output.
 * Attach it with `cluster.attach(new FileWatcher(options))`; `recluster(file, { watch })` does that.
 * Its `error` events are passed on to the cluster's `error` event.
 */
export class FileWatcher extends EventEmitter<FileWatcherEvents> implements ClusterService {
  readonly options: ResolvedWatch;
  #watcher: FSWatcher | null = null;
  #started = false;
  #quiet: QuietPeriod | null = null;
  #check: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: ResolvedWatch) {
    super();
    this.options = options;
  }

  async start(cluster: Cluster): Promise<void> {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    // Loaded here rather than at the top, so a primary that watches nothing never loads chokidar or picomatch.
    const [{ watch }, { ignoreMatcher }] = await Promise.all([import('chokidar'), import('./watch-ignore.js')]);
    if (this.#stopped) return;
    const { paths, delay, ignore, extensions } = this.options;
    const quiet = new QuietPeriod(delay, (files) => {
      if (this.#stopped) return;
      this.emit('change', files);
      // The outcome is the cluster's to report (reloadEnd / reloadFailed); a rejection here must not go unhandled.
      cluster.reload().catch(() => {});
    });
    this.#quiet = quiet;
    const ignored = ignoreMatcher(paths, ignore);
    const watcher = watch([...paths], { ignoreInitial: true, ignored, persistent: true });
    this.#watcher = watcher;
    // A ResolvedWatch made by hand without `extensions` gets the defaults, as the pipeline would give.
    const counts = changeMatcher(paths, extensions === undefined ? DEFAULT_WATCH_EXTENSIONS : extensions);
    const output = new OwnOutput();
    watcher.on('all', (event, file) => {
      if (counts(file, event === 'addDir' || event === 'unlinkDir') && !output.has(file)) quiet.touch(file);
    });
    // chokidar stops watching a watched folder once it is removed, so a build that recreates it (`rm -rf dist
    // && tsc`) would go unseen. Watching it again makes chokidar wait for it to come back.
    const folders = new RootFolders(paths);
    const watchAgain = (dir: string): void => {
      watcher.unwatch(dir);
      watcher.add(dir);
    };
    watcher.on('unlinkDir', (dir) => {
      if (this.#stopped || !folders.seen(dir, false)) return;
      watchAgain(dir);
    });
    watcher.on('addDir', (dir) => folders.seen(dir, true));
    // An empty watched folder that is removed gives chokidar no event at all. A look at each watched folder
    // every second catches what chokidar did not report, and counts it as a change.
    this.#check = setInterval(() => {
      if (this.#stopped) return;
      for (const dir of folders.missed()) {
        watchAgain(dir);
        quiet.touch(dir);
        // Files already written into a folder made again before it is watched again are not reported by
        // chokidar (they are there when it looks): they count as changed, as they are.
        for (const file of filesIn(dir)) if (counts(file, false) && !output.has(file)) quiet.touch(file);
      }
    }, ROOT_CHECK_MS);
    this.#check.unref();
    watcher.on('error', (error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else cluster.emit('error', err);
    });
    await new Promise<void>((resolve) => {
      watcher.once('ready', () => {
        if (!this.#stopped) this.emit('ready', paths);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#quiet?.cancel();
    if (this.#check) clearInterval(this.#check);
    const watcher = this.#watcher;
    this.#watcher = null;
    await watcher?.close();
  }
}
