// The options pipeline: copy, default, validate, convert to canonical units, freeze, driven by the option table; and the public option types.
import path from 'node:path';
import { InvalidOptionError } from './errors.js';
import { type Reader, boolean, plainObject } from './option-readers.js';
import { CORE_OPTIONS, type CoreOption, OPTIONS, type OptionContext } from './option-table.js';
import type { ClusterOptions, ResolvedOptions } from './option-types.js';
import { warnUnknownKeys } from './unknown-keys.js';

export * from './option-types.js';

/**
 * An option read by a step of its own, registered by whoever assembles the cluster: the admin interface's
 * `admin`, so that the core pipeline does not load the admin interface's code.
 */
export interface OptionStep<K extends keyof ResolvedOptions = keyof ResolvedOptions> {
  readonly key: K;
  readonly read: Reader<ResolvedOptions[K]>;
  readonly fallback: ResolvedOptions[K];
}

/** Every option `recluster()` knows, whether the core reads it or a step does. */
export const KNOWN_OPTIONS: readonly (keyof ClusterOptions)[] = Object.freeze([...CORE_OPTIONS, 'admin']);

/** Reads the worker script's path: a non-empty string, made absolute against the primary's working directory. */
export function resolveFile(file: unknown): string {
  if (typeof file !== 'string' || file === '') throw new InvalidOptionError('file', 'the path of the worker script', file);
  return path.resolve(file);
}

/**
 * The options pipeline: copy, default, validate, convert to canonical units, freeze, for every option of the
 * table, then for each of `steps`. Throws an InvalidOptionError naming the first wrong option. An unknown key
 * is ignored with a warning (recluster ignored them, and code that spreads a wider config object into the
 * options has some). The caller's object is read, never changed. `admin` needs its step (recluster() passes
 * it): given without it, it is refused rather than ignored.
 */
export function resolveOptions(
  input: ClusterOptions | undefined = {},
  environment: NodeJS.ProcessEnv = process.env,
  steps: readonly OptionStep[] = [],
): ResolvedOptions {
  const given = plainObject(input ?? {}, 'options');
  warnUnknownKeys(given, KNOWN_OPTIONS);
  const context: OptionContext = { environment, runtime: given.runtime === undefined ? true : boolean(given.runtime, 'runtime') };
  const resolved: Record<string, unknown> = {};
  const readCore = <K extends CoreOption>(key: K): void => {
    const spec = OPTIONS[key];
    const value = given[key] === undefined ? spec.fallback(context) : spec.read(given[key], key);
    spec.check?.(value, context, given[key]);
    resolved[key] = value;
  };
  for (const key of CORE_OPTIONS) readCore(key);
  resolved.admin = null;
  for (const step of steps) resolved[step.key] = given[step.key] === undefined ? step.fallback : step.read(given[step.key], step.key);
  if (given.admin !== undefined && given.admin !== false && !steps.some((step) => step.key === 'admin')) {
    throw new InvalidOptionError('admin', 'read by the admin interface’s step: create the cluster with recluster()', given.admin);
  }
  return Object.freeze(resolved) as unknown as ResolvedOptions;
}
