// Reading durations and memory sizes from options: numbers and strings with units, in one place.
import ms from 'ms';

const PLAIN_NUMBER = /^\s*-?\d+(\.\d+)?\s*$/;

/**
 * Reads a duration. A number is seconds (as in recluster); a string is read with `ms` and must carry a unit
 * (`'500ms'`, `'30s'`, `'1h'`). A string without a unit is refused rather than guessed: `ms('30')` is 30
 * milliseconds while the number 30 is 30 seconds, and that trap is worse than an error.
 * Returns milliseconds, or undefined when the value is not a duration.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  }
  if (typeof value === 'string' && !PLAIN_NUMBER.test(value)) {
    let parsed: number | undefined;
    try {
      parsed = ms(value as ms.StringValue) as number | undefined;
    } catch {
      return undefined;
    }
    return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? Math.round(parsed) : undefined;
  }
  return undefined;
}

/** The longest delay Node's timers accept (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER = 2 ** 31 - 1;

/** Milliseconds in words for log lines, as `ms` writes them (`500 ms`, `2 seconds`, `1 minute`) where that is exact; else in seconds or ms. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds === 0) return '0 ms';
  // `ms` rounds to its largest unit (75 s is "1 minute"): only what reads back as the same duration is kept.
  const words = ms(milliseconds, { long: true });
  if (ms(words as ms.StringValue) === milliseconds) return words;
  return milliseconds % 1000 === 0 ? `${milliseconds / 1000} seconds` : `${milliseconds} ms`;
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)\s*$/i;
const SIZE_FACTORS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Reads a memory size: a number is a whole number of bytes; a string must carry a unit (`'512MB'`, `'1G'`,
 * `'300m'`, `'4096b'`), read as powers of 1024 the way `ps` and PM2's `max_memory_restart` read them. A
 * string without a unit is refused rather than guessed, as durations are: `'512'` meant as megabytes would
 * be 512 bytes, a limit every worker is above from the start. Returns bytes (at most
 * Number.MAX_SAFE_INTEGER, so the count stays exact), or undefined.
 */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = SIZE.exec(value);
  if (!match) return undefined;
  const bytes = Math.round(Number(match[1]) * (SIZE_FACTORS[(match[2] as string).toLowerCase()] ?? 1));
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Bytes in words for log lines: `512 MB`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${Math.round(bytes / 1024 ** 2)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}
