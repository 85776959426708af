// The options pipeline: copy, default, validate, convert to canonical units, freeze, driven by the option table; and the public option types.
import path from 'node:path';
import { InvalidOptionError } from './errors.js';
import { type Reader, boolean, plainObject } from './option-readers.js';
import { CORE_OPTIONS, type CoreOption, type FixedCoreOption, OPTIONS, type OptionContext, type OptionSpec } from './option-table.js';
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

/** Options a reload never changes, fixed for the primary's life: the option table's `reload: false` ones, and `admin`. */
export const FIXED_OPTIONS: readonly (keyof ResolvedOptions)[] = Object.freeze([...CORE_OPTIONS.filter((key) => !OPTIONS[key].reload), 'admin' as const]);

/** The settings `reload()` can change: the option table's `reload` options, as users write them. */
export type ReloadSettings = Pick<ClusterOptions, ReloadOption>;

/** The options a reload can change: every option but those fixed for the primary's life (the option table's `reload: false`, and `admin`). */
export type ReloadOption = Exclude<keyof ClusterOptions, FixedCoreOption | 'admin'>;

/**
 * The options of a reload: `base` with `changes` read over it, key by key, through the same readers and
 * checks as `resolveOptions`. A known option a reload cannot change is an InvalidOptionError (its value would
 * be ignored); an unknown key warns, as in `resolveOptions`. The base is never changed.
 */
export function resolveChanges(base: ResolvedOptions, changes: unknown, environment: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const given = plainObject(changes ?? {}, 'settings');
  warnUnknownKeys(given, KNOWN_OPTIONS);
  const context: OptionContext = { environment, runtime: base.runtime };
  const resolved: Record<string, unknown> = { ...base };
  for (const key of KNOWN_OPTIONS) {
    if (given[key] === undefined) continue;
    if (FIXED_OPTIONS.includes(key)) {
      throw new InvalidOptionError(key, 'left out: a reload cannot change it (restart the primary for a new value)', given[key]);
    }
    const spec = OPTIONS[key as CoreOption] as OptionSpec<unknown>;
    const value = spec.read(given[key], key);
    spec.check?.(value, context, given[key]);
    resolved[key] = value;
  }
  return Object.freeze(resolved) as unknown as ResolvedOptions;
}
