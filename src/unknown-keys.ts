// Unknown option keys: a warning that names the key and the closest known option, once per key and process.
import { closestName } from './suggest.js';

/** The `code` of the warning an unknown option key gives (`process.on('warning')` sees it). */
export const UNKNOWN_OPTION_WARNING = 'QILIN_UNKNOWN_OPTION';

const warned = new Set<string>();

/** The words of the warning for an unknown key: what is ignored, and what it may have meant. */
export function unknownKeyMessage(key: string, known: readonly string[], prefix = ''): string {
  const suggestion = closestName(key, known);
  const hint = suggestion === undefined ? `known options: ${known.join(', ')}` : `did you mean \`${prefix}${suggestion}\`?`;
  return `Unknown option \`${prefix}${key}\` is ignored; ${hint}`;
}

/**
 * Warns, through `process.emitWarning`, of each key of `input` not in `known`. recluster ignored unknown
 * keys, and code that spreads a wider config object into the options has some, so they are not errors; the
 * TypeScript types still refuse them at compile time. Each key is warned of once per process, so a loop
 * creating clusters does not repeat it.
 */
export function warnUnknownKeys(input: Record<string, unknown>, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(input)) {
    if (known.includes(key) || warned.has(`${prefix}${key}`)) continue;
    warned.add(`${prefix}${key}`);
    process.emitWarning(unknownKeyMessage(key, known, prefix), { type: 'QilinWarning', code: UNKNOWN_OPTION_WARNING });
  }
}
