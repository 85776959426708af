// The readers of the options pipeline: each checks one kind of value and converts it to its canonical form, or throws an InvalidOptionError naming the option. Pure.
import path from 'node:path';
import { InvalidOptionError } from './errors.js';
import { DEFAULT_IGNORE, DEFAULT_WATCH_DELAY, DEFAULT_WATCH_EXTENSIONS, type LogOptions, type Logger, type ResolvedWatch } from './option-types.js';
import { warnUnknownKeys } from './unknown-keys.js';
import { MAX_TIMER, parseDuration, parseSize } from './units.js';

/** Reads one option's value as given (`name` is how errors name it), or throws an InvalidOptionError. */
export type Reader<T> = (value: unknown, name: string) => T;

const TOO_LONG = `a duration of at most ${MAX_TIMER} ms (about 24.8 days, the longest timer Node.js supports)`;

export function duration(value: unknown, name: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) {
    throw new InvalidOptionError(name, "a duration: seconds as a number, or a string with a unit such as '500ms' or '30s'", value);
  }
  if (parsed > MAX_TIMER) throw new InvalidOptionError(name, TOO_LONG, value);
  return parsed;
}

export function positiveDurationOrOff(value: unknown, name: string): number | null {
  if (value === false) return null;
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed === 0) {
    throw new InvalidOptionError(name, "a duration above zero (seconds as a number, or a string such as '30s'), or false", value);
  }
  if (parsed > MAX_TIMER) throw new InvalidOptionError(name, TOO_LONG, value);
  return parsed;
}

/** A share from 0 to 1: a number (`0.01`), or a string with the number or a percentage (`'0.01'`, `'1%'`). */
export function fraction(value: unknown, name: string): number {
  const text = typeof value === 'string' ? value.trim() : null;
  const parsed =
    typeof value === 'number' ? value : text === null || text === '' ? Number.NaN : text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
    throw new InvalidOptionError(name, "a share from 0 to 1: a number such as 0.01, or a percentage such as '1%'", value);
  }
  return parsed;
}

export function integer(min: number): Reader<number> {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidOptionError(name, min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`, value);
    }
    return value;
  };
}

export function oneOf<T extends string>(...choices: T[]): Reader<T> {
  return (value, name) => {
    if (typeof value !== 'string' || !(choices as string[]).includes(value)) {
      throw new InvalidOptionError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
    }
    return value as T;
  };
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, 'a boolean', value);
  return value;
}

export function stringArray(value: unknown, name: string): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(name, 'an array of strings', value);
  value.forEach((item, index) => {
    if (typeof item !== 'string') throw new InvalidOptionError(`${name}[${index}]`, 'a string', item);
  });
  return Object.freeze([...(value as string[])]);
}

export function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, 'an object', value);
  }
  return value as Record<string, unknown>;
}

export function env(value: unknown, name: string): Readonly<Record<string, string | undefined>> {
  const input = plainObject(value, name);
  const out: Record<string, string | undefined> = {};
  for (const [key, item] of Object.entries(input)) {
    if (item !== undefined && typeof item !== 'string') {
      throw new InvalidOptionError(`${name}.${key}`, 'a string, or undefined to remove the variable', item);
    }
    out[key] = item;
  }
  return Object.freeze(out);
}

export function log(value: unknown, name: string): Readonly<Required<LogOptions>> {
  if (value === false) return Object.freeze({ respawns: false, reloads: false, warnings: false });
  const input = plainObject(value, name);
  warnUnknownKeys(input, ['respawns', 'reloads', 'warnings'], `${name}.`);
  const read = (key: keyof LogOptions): boolean => (input[key] === undefined ? true : boolean(input[key], `${name}.${key}`));
  return Object.freeze({ respawns: read('respawns'), reloads: read('reloads'), warnings: read('warnings') });
}

export function logger(value: unknown, name: string): Logger {
  if (typeof value !== 'object' || value === null || typeof (value as Logger).log !== 'function') {
    throw new InvalidOptionError(name, 'an object with a `log` method, such as console', value);
  }
  return value as Logger;
}

export function directory(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(name, 'a non-empty path', value);
  return path.resolve(value);
}

export function memory(value: unknown, name: string): number | null {
  if (value === false) return null;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    throw new InvalidOptionError(name, "a size: a whole number of bytes above zero, or a string with a unit such as '512MB' or '1GB', or false", value);
  }
  return bytes;
}

export function stringOrStrings(value: unknown, name: string): readonly string[] {
  if (typeof value === 'string') return Object.freeze([value]);
  return stringArray(value, name);
}

const EXTENSION = /^(?:\*?\.)?([^\s/\\*,]+)$/;

/** `'js'`, `'.JS'`, `'*.js'` and `'d.ts'` become `js` and `d.ts`; `'*'` anywhere in the list (null) counts every file. */
export function extensions(value: unknown, name: string): readonly string[] | null {
  const given = stringOrStrings(value, name);
  if (given.length === 0) throw new InvalidOptionError(name, "one or more extensions such as 'js', or '*' for every file", value);
  if (given.includes('*')) return null;
  return Object.freeze(
    given.map((ext, index) => {
      const match = EXTENSION.exec(ext.trim());
      if (!match) throw new InvalidOptionError(`${name}[${index}]`, "an extension such as 'js' or '.js', or '*' for every file", ext);
      return (match[1] as string).toLowerCase();
    }),
  );
}

export function watch(value: unknown, name: string): ResolvedWatch | null {
  if (value === false) return null;
  const input: Record<string, unknown> = typeof value === 'string' || Array.isArray(value) ? { paths: value } : plainObject(value, name);
  warnUnknownKeys(input, ['paths', 'delay', 'ignore', 'extensions'], `${name}.`);
  const paths = input.paths === undefined ? [] : stringOrStrings(input.paths, `${name}.paths`);
  if (paths.length === 0 || paths.some((p) => p === '')) {
    throw new InvalidOptionError(`${name}.paths`, 'one or more non-empty paths', input.paths);
  }
  const ignore = input.ignore === undefined ? [] : stringOrStrings(input.ignore, `${name}.ignore`);
  return Object.freeze({
    paths: Object.freeze(paths.map((p) => path.resolve(p))),
    delay: input.delay === undefined ? DEFAULT_WATCH_DELAY : duration(input.delay, `${name}.delay`),
    ignore: Object.freeze([...DEFAULT_IGNORE, ...ignore]),
    extensions: input.extensions === undefined ? DEFAULT_WATCH_EXTENSIONS : extensions(input.extensions, `${name}.extensions`),
  });
}
