// The settings of the next reload: what `reload(settings)` asked for since the last one began, over what the cluster's settings source (the command's re-read of its config file) says.
import { FIXED_OPTIONS, type ResolvedOptions, resolveChanges } from '../options.js';

/** Where each reload reads its settings first: a whole set of options (those a reload cannot change are kept as they are). */
export type SettingsSource = () => Promise<ResolvedOptions>;

/** A plain object (not an array, a class instance, or a signal's name): `reload(settings)`'s settings. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export class NextSettings {
  /** Settings asked for by `reload(settings)` calls since the last reload started, merged, as given. */
  #requested: Record<string, unknown> = {};
  source: SettingsSource | null = null;

  /** Checks `settings` over `current` now (a wrong value throws its InvalidOptionError) and keeps them for the next reload. */
  ask(current: ResolvedOptions, settings: Record<string, unknown>): void {
    resolveChanges(current, settings);
    for (const [key, value] of Object.entries(settings)) if (value !== undefined) this.#requested[key] = value;
  }

  /**
   * The settings of the reload starting now, and the worker count it applies (null: the slots stay as they
   * are, a count changed by `scale()` included): the source's, where it changed `workers`, then the one asked
   * for by `reload({ workers })`. A source that rejects aborts the reload with its error.
   */
  async take(current: ResolvedOptions): Promise<{ options: ResolvedOptions; workers: number | null }> {
    const requested = this.#requested;
    this.#requested = {};
    let options = current;
    let workers: number | null = null;
    if (this.source) {
      const read = await this.source();
      // What a reload cannot change is kept from the settings serving, whatever the source says.
      const kept = Object.fromEntries(FIXED_OPTIONS.map((key) => [key, current[key]]));
      options = Object.freeze({ ...read, ...kept }) as ResolvedOptions;
      if (options.workers !== current.workers) workers = options.workers;
    }
    if (Object.keys(requested).length > 0) options = resolveChanges(options, requested);
    if (requested.workers !== undefined) workers = options.workers;
    return { options, workers };
  }
}
