// How many workers a cluster may have: one bound for the `workers` option, `cluster.scale()`, the admin interface's `/scale` and the `qilin` command.
import { availableParallelism } from 'node:os';
import { InvalidOptionError } from './errors.js';

/**
 * The most workers one cluster may have. Each is a process of tens of megabytes and a slot in the
 * primary's tables: a typo (`workers: 1e6`, `qilin scale 40000`) should be refused by name, not fork until
 * the machine or the primary's heap gives out.
 */
export const MAX_WORKERS = 1024;

/** True for a number of workers `cluster.scale()` and `/scale` accept: a whole number from 0 to MAX_WORKERS. */
export function isWorkerCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_WORKERS;
}

/**
 * Reads the `workers` option: a whole number up to MAX_WORKERS, where 0 means one per CPU, as in recluster
 * (`opt.workers || numCPUs`), so code written for it runs the same number of workers here.
 */
export function workerCount(value: unknown, name: string): number {
  if (!isWorkerCount(value)) throw new InvalidOptionError(name, `an integer from 0 to ${MAX_WORKERS} (0: one per CPU)`, value);
  return value === 0 ? availableParallelism() : value;
}
