// The order in which a reload replaces slots: all at once, or a batch at a time in slot order.
import type { ReloadStrategy } from '../options.js';

/** Splits slots into the batches a reload replaces one after another. `'all'` is one batch of every slot. */
export function reloadBatches(slots: readonly number[], strategy: ReloadStrategy, batch: number): number[][] {
  if (slots.length === 0) return [];
  const size = strategy === 'all' ? slots.length : Math.max(1, Math.floor(batch));
  const batches: number[][] = [];
  for (let i = 0; i < slots.length; i += size) batches.push(slots.slice(i, i + size));
  return batches;
}
