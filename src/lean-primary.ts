// The primary's own V8 settings (`leanPrimary`): a young generation that does not grow and, while no cluster in the process relays connections, no optimizing compiler and V8's memory saver.
import v8 from 'node:v8';
import { type Balance, relays } from './options.js';

/** A group of V8 flags set together; `undo` puts back V8's behaviour for a cluster that needs it. */
interface Family {
  readonly set: readonly string[];
  /** Flags of node's own command line (or NODE_OPTIONS) that choose this already: then the family is left alone. */
  readonly given: RegExp;
  /** Only for a primary that relays no connection ('kernel', 'reuseport'); else for every primary. */
  readonly idleOnly: boolean;
  readonly undo: readonly string[];
  /** The oldest V8 (major version) that knows these flags: an older one would print an error for each. */
  readonly sinceV8: number;
}

const FAMILIES = {
  // A primary's allocations are short lived; V8 would otherwise double the young generation step by step,
  // to its maximum (32 MB per semi-space measured on Node 24), one reload at a time.
  young: {
    set: ['--semi-space-growth-factor=1'],
    given: /^--((max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(=|$)/,
    idleOnly: false,
    undo: [],
    sinceV8: 0,
  },
  // The primary's code runs at starts, exits and reloads: the interpreter and the baseline compiler serve it,
  // and the optimizing compilers' code in the node binary (about 5.5 MiB) is never paged in.
  compilers: {
    set: ['--no-opt', '--no-maglev'],
    given: /^--(no[-_])?(opt|turbofan|maglev|jitless|lite[-_]mode)(=|$)/,
    idleOnly: true,
    undo: ['--opt', '--maglev'],
    sinceV8: 0,
  },
  // Collects the old generation sooner, rather than letting what reloads leave behind pile up between
  // collections. V8 13 (Node 24) and later.
  saver: { set: ['--memory-saver-mode'], given: /^--(no[-_])?memory[-_]saver[-_]mode(=|$)/, idleOnly: true, undo: ['--no-memory-saver-mode'], sinceV8: 13 },
} as const satisfies Record<string, Family>;

type FamilyName = keyof typeof FAMILIES;

/**
 * What this process's primaries have set, per family: 'set' here, or 'kept' as V8 had it (node was given
 * its flags, the V8 is too old, or a cluster that relays connections runs in this process: for its life).
 */
export type LeanState = Readonly<Partial<Record<FamilyName, 'set' | 'kept'>>>;

/**
 * The V8 flags to set for one more cluster starting with `balance` in force, and the state after them.
 * `given` is what node was started with; `v8Major`, the running V8's major version. Pure.
 *
 * With `balance: 'kernel'` or `'reuseport'` the primary relays no connection (with `'reuseport'`, only a
 * slot's share while no worker of that slot accepts). A cluster that relays them ('round-robin',
 * 'sticky') needs the optimizing compilers and a heap sized for speed: what an earlier cluster turned off is
 * turned back on, and stays on.
 */
export function leanFlags(balance: Balance, state: LeanState, given: readonly string[], v8Major: number): { flags: string[]; state: LeanState } {
  const flags: string[] = [];
  const next: Partial<Record<FamilyName, 'set' | 'kept'>> = { ...state };
  for (const [name, family] of Object.entries(FAMILIES) as [FamilyName, Family][]) {
    const relaying = family.idleOnly && relays(balance);
    if (relaying && state[name] === 'set') flags.push(...family.undo);
    if (relaying || given.some((flag) => family.given.test(flag)) || v8Major < family.sinceV8) next[name] = 'kept';
    else if (state[name] === undefined) {
      flags.push(...family.set);
      next[name] = 'set';
    }
  }
  return { flags, state: next };
}

/** Shared by every copy of this module in the process (the ESM and CommonJS builds may both be loaded). */
const STATE = Symbol.for('qilin.leanPrimary');
type Holder = { [STATE]?: LeanState };

/** node's own options: its command line's, then NODE_OPTIONS' (split on spaces, as node does for plain values). */
function givenFlags(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
}

/** Makes this process's primary lean for a cluster starting with `balance` in force (see `leanFlags`). */
export function applyLeanPrimary(balance: Balance): void {
  const holder = globalThis as Holder;
  const { flags, state } = leanFlags(balance, holder[STATE] ?? {}, givenFlags(), Number(process.versions.v8.split('.')[0]));
  holder[STATE] = state;
  // Flags V8 reads each time it decides (to grow the young generation, to optimize a function, to collect),
  // so they take effect in a running process; heap sizes, read once at startup, would not.
  if (flags.length > 0) v8.setFlagsFromString(flags.join(' '));
}
