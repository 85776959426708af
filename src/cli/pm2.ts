// PM2 habits on qilin's command line (`qilin start app.js`, `-i 4`) and the Qilin form of each, in one table; no I/O.

/** What the admin client needs, said once for every hint that points at it. */
const ADMIN = '(it asks the admin interface: `--admin <address>`, or the one set in qilin.config.json)';

const POSITIVE = /^[1-9]\d*$/;

/** A PM2 flag qilin does not have: what to say about it, and the Qilin words for it in a rewritten command line. */
interface FlagHabit {
  readonly names: readonly string[];
  readonly takesValue: boolean;
  /** Which words after the flag are its value, for flags whose value may start with `-` (`-i -1`). */
  readonly value?: RegExp;
  readonly hint: (flag: string, value: string | undefined) => string;
  /** The Qilin words with the same effect (none when Qilin needs none), or null when Qilin has no flag for it: its hint is then shown too. */
  readonly qilin: (value: string | undefined) => readonly string[] | null;
}

const FLAGS: readonly FlagHabit[] = [
  {
    names: ['-i', '--instances'],
    takesValue: true,
    value: /^(-?\d+|max)$/i,
    hint: (flag, value) => {
      if (value !== undefined && POSITIVE.test(value)) return `\`${flag}\` is PM2's; Qilin's is \`-w ${value}\` (\`--workers ${value}\`)`;
      if (value === undefined || value === '0' || value.toLowerCase() === 'max') {
        return `\`${flag} ${value ?? 'max'}\` is PM2's for one worker per CPU, which is already Qilin's default: leave it out (\`-w <n>\` sets another number)`;
      }
      if (value.startsWith('-')) return `\`${flag} ${value}\` is PM2's for fewer workers than CPUs; Qilin's is \`-w <n>\` (\`--workers <n>\`) with the number`;
      return `\`${flag}\` is PM2's; Qilin's is \`-w <n>\` (\`--workers <n>\`)`;
    },
    qilin: (value) =>
      value !== undefined && POSITIVE.test(value) ? ['-w', value] : value === undefined || value === '0' || value.toLowerCase() === 'max' ? [] : ['-w', '<n>'],
  },
  {
    names: ['--wait-ready'],
    takesValue: false,
    hint: () =>
      "`--wait-ready` is PM2's; Qilin's is `--ready-when ready`, with `process.send({ cmd: 'ready' })` or `ready()` from qilin/worker in the app (PM2's `process.send('ready')` is not enough)",
    qilin: () => ['--ready-when', 'ready'],
  },
  {
    names: ['--listen-timeout'],
    takesValue: true,
    hint: (flag, value) =>
      `\`${flag}\` is PM2's; Qilin's is \`--ready-timeout ${readyTimeout(value)}\` (a bare number is milliseconds in PM2, seconds in Qilin)`,
    qilin: (value) => ['--ready-timeout', readyTimeout(value)],
  },
  {
    names: ['--max-memory-restart'],
    takesValue: true,
    hint: (flag, value) =>
      `\`${flag}\` is PM2's; Qilin's is \`maxMemory\` in qilin.config.json (\`"maxMemory": "${value ?? '512MB'}"\`): a worker above it is replaced without dropping a request`,
    qilin: () => null,
  },
  {
    names: ['--no-daemon'],
    takesValue: false,
    hint: () => 'qilin always runs in the foreground: leave `--no-daemon` out',
    qilin: () => [],
  },
  {
    names: ['--name'],
    takesValue: true,
    hint: (flag) => `\`${flag}\` is PM2's; qilin has no app names: one qilin runs one app`,
    qilin: () => null,
  },
];

function readyTimeout(value: string | undefined): string {
  if (value === undefined) return '<d>';
  return /^\d+$/.test(value) ? `${value}ms` : value;
}

/** PM2 commands qilin does not have, and what to run instead. `start` is written out from the rest of the line. */
const COMMANDS: Readonly<Record<string, string>> = {
  restart: `\`restart\` is PM2's; Qilin's is \`qilin reload\` ${ADMIN}, or \`kill -USR2 <pid>\`: new workers with the code on disk, without dropping a request`,
  delete: "`delete` is PM2's; qilin keeps no list of apps: `qilin stop` (or `kill -TERM <pid>`) stops it, and that is all",
  list: `\`list\` is PM2's; Qilin's is \`qilin status\` ${ADMIN}`,
  ls: `\`ls\` is PM2's; Qilin's is \`qilin status\` ${ADMIN}`,
  logs: "`logs` is PM2's; qilin has none: it writes its own lines and the workers' output to its stdout and stderr, so read them where it runs (the terminal, journalctl, docker logs)",
  monit: `\`monit\` is PM2's; Qilin's is \`qilin status --watch\` ${ADMIN}: CPU, memory, uptime and restarts of every worker, live`,
};

/** The PM2 words the hints know: commands (first word only) and flags. */
export const PM2_COMMANDS: readonly string[] = ['start', ...Object.keys(COMMANDS)];

/** A PM2 flag at `words[index]`: the habit, the flag as written, its value, and how many words it takes. */
function flagAt(words: readonly string[], index: number): { habit: FlagHabit; flag: string; value: string | undefined; length: number } | null {
  const word = words[index] as string;
  for (const habit of FLAGS) {
    for (const name of habit.names) {
      if (word === name) {
        const next = words[index + 1];
        const isValue = habit.takesValue && next !== undefined && next !== '--' && (habit.value ? habit.value.test(next) : !next.startsWith('-'));
        return { habit, flag: name, value: isValue ? next : undefined, length: isValue ? 2 : 1 };
      }
      if (habit.takesValue && word.startsWith(`${name}=`)) return { habit, flag: name, value: word.slice(name.length + 1), length: 1 };
      // `-i4`, as PM2's option parser reads it.
      if (habit.takesValue && name.length === 2 && word.startsWith(name) && habit.value?.test(word.slice(2))) {
        return { habit, flag: name, value: word.slice(2), length: 1 };
      }
    }
  }
  return null;
}

const ECOSYSTEM = /(^|[\\/])ecosystem[^\\/]*\.(c?js|mjs|json|ya?ml)$/i;

/** `qilin start ...` as Qilin takes it: the same line without `start`, PM2's flags turned into Qilin's (put first). */
function startHint(rest: readonly string[]): string {
  const converted: string[] = [];
  const words: string[] = [];
  const notes: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const word = rest[i] as string;
    if (word === '--') {
      words.push(...rest.slice(i));
      break;
    }
    const found = flagAt(rest, i);
    if (!found) {
      words.push(word);
      continue;
    }
    const replacement = found.habit.qilin(found.value);
    if (replacement === null) notes.push(found.habit.hint(found.flag, found.value));
    else converted.push(...replacement);
    i += found.length - 1;
  }
  if (words.some((word) => ECOSYSTEM.test(word))) {
    return "`start` is PM2's, and qilin does not read PM2's ecosystem files: put the app's `script` as `app` and `instances` as `workers` in qilin.config.json, then run `qilin` in its folder";
  }
  const app = words.some((word) => word !== '--' && !word.startsWith('-')) ? [] : ['<app.js>'];
  const line = ['qilin', ...converted, ...words, ...app].join(' ');
  return [`\`start\` is PM2's; qilin runs the app in the foreground: \`${line}\` (an app file named start runs as \`qilin ./start\`)`, ...notes].join('\n');
}

/**
 * What a PM2 user meant, when the command line is in PM2's form: a PM2 command as the first word
 * (`start`, `restart`, `delete`, `list`, `ls`, `logs`, `monit`; an app file with such a name runs as
 * `qilin ./start`), or a PM2 flag before `--` (`-i 4`, `--instances`, `--wait-ready`, ...). Null when the line
 * is not PM2's. `words` are the arguments after `qilin`, with each qilin flag's value already joined to it
 * (`--node-args=-i`), so a value is never taken for a flag.
 */
export function pm2Hint(words: readonly string[]): string | null {
  const first = words[0];
  if (first === 'start') return startHint(words.slice(1));
  if (first !== undefined && Object.hasOwn(COMMANDS, first)) return COMMANDS[first] as string;
  for (let i = 0; i < words.length; i += 1) {
    if (words[i] === '--') break;
    const found = flagAt(words, i);
    if (found) return found.habit.hint(found.flag, found.value);
  }
  return null;
}
