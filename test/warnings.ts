// Test helper: the process warnings (`process.emitWarning`) emitted while a function runs.
import { setImmediate as tick } from 'node:timers/promises';

/** Runs `fn`, then returns every warning emitted meanwhile (they are delivered on a later tick). */
export async function warningsDuring(fn: () => unknown): Promise<(Error & { code?: string })[]> {
  const seen: (Error & { code?: string })[] = [];
  const listener = (warning: Error): void => {
    seen.push(warning);
  };
  process.on('warning', listener);
  try {
    fn();
    await tick();
    await tick();
  } finally {
    process.off('warning', listener);
  }
  return seen;
}
