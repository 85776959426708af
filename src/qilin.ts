// The original qilin's programmatic form, `new Qilin({ exec, args, silent }, { workers }).start(cb)`, as a thin layer over recluster().
import type { Cluster } from './cluster.js';
import { InvalidOptionError, QilinError } from './errors.js';
import type { ClusterOptions } from './options.js';
import { recluster } from './recluster.js';
import { warnUnknownKeys } from './unknown-keys.js';

/** The first argument: what to run, as qilin passed it on to `cluster.setupMaster()`. */
export interface QilinClusterArguments {
  /** The worker script. */
  readonly exec: string;
  /** Arguments for the worker script. @default [] */
  readonly args?: readonly string[];
  /** Keep the workers' stdout and stderr from the primary's. @default false */
  readonly silent?: boolean;
  /** Node.js options for the workers. @default [] */
  readonly execArgv?: readonly string[];
  /** Working directory of the workers. @default the primary's */
  readonly cwd?: string;
}

/** The second argument: `workers`, plus any other option of `recluster()`. */
export type QilinArguments = Omit<ClusterOptions, 'args' | 'silent' | 'execArgv' | 'cwd'>;

type Callback = (error: Error | null) => void;

const CLUSTER_KEYS = ['exec', 'args', 'silent', 'execArgv', 'cwd'];

function settle(promise: Promise<unknown>, cb: Callback | undefined): Promise<void> {
  const done = promise.then(() => {});
  if (typeof cb === 'function') {
    done.then(
      () => cb(null),
      (error: unknown) => cb(error instanceof Error ? error : new Error(String(error))),
    );
  }
  done.catch(() => {});
  return done;
}

/**
 * Runs `exec` in `workers` worker processes. `start(cb)` calls back once every worker is ready (with an
 * error if the first workers cannot start, or if it was started already). The cluster underneath is
 * `qilin.cluster`, with every event and method of `recluster()`.
 */
export class Qilin {
  readonly cluster: Cluster;
  #started = false;

  constructor(clusterArguments: QilinClusterArguments, qilinArguments: QilinArguments = {}) {
    if (typeof clusterArguments !== 'object' || clusterArguments === null) {
      throw new InvalidOptionError('clusterArguments', 'an object such as { exec, args, silent }', clusterArguments);
    }
    warnUnknownKeys(clusterArguments as unknown as Record<string, unknown>, CLUSTER_KEYS);
    for (const key of ['args', 'silent', 'execArgv', 'cwd']) {
      if (qilinArguments && key in qilinArguments) {
        throw new InvalidOptionError(
          key,
          'given in the first argument ({ exec, args, silent, execArgv, cwd })',
          (qilinArguments as Record<string, unknown>)[key],
        );
      }
    }
    const { exec, ...rest } = clusterArguments;
    const known = Object.fromEntries(Object.entries(rest).filter(([key]) => CLUSTER_KEYS.includes(key)));
    this.cluster = recluster(exec, { ...qilinArguments, ...known } as ClusterOptions);
  }

  /** Forks the workers; `cb(null)` once every worker is ready, `cb(error)` if they cannot start or were started already. */
  start(cb?: Callback): Promise<void> {
    if (this.#started) {
      return settle(Promise.reject(new QilinError('ERR_QILIN_NOT_RUNNING', 'It has been started already')), cb);
    }
    this.#started = true;
    let running: Promise<void>;
    try {
      running = this.cluster.run();
    } catch (error) {
      // The worker runtime is missing from the package: said through the callback, as every other failure.
      this.#started = false;
      running = Promise.reject(error);
    }
    return settle(running, cb);
  }

  /** True once `start()` was called, until `shutdown()`. */
  running(): boolean {
    return this.#started;
  }

  /** Replaces every worker with one running the code on disk now, without dropping a request. */
  reload(cb?: Callback): Promise<void> {
    return settle(this.cluster.reload(), cb);
  }

  /** Stops every worker gracefully; calls back when all have exited. */
  shutdown(cb?: Callback): Promise<void> {
    this.#started = false;
    return settle(this.cluster.shutdown(), cb);
  }
}
