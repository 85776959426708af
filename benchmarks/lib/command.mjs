// The built `qilin` command run by a benchmark step: its JSON log lines, waited for by event, and the whole process group stopped when the step ends or fails.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { sleep } from './util.mjs';

const CLI = path.join(new URL('../..', import.meta.url).pathname, 'dist', 'cli.js');

/**
 * Starts the built `qilin` command with `args` (which should include `--log-format json`): its JSON log lines
 * (every primary it upgrades to writes to the same stdout), a way to wait for one, and a way to stop it whole.
 */
export function startQilin(args, { cwd } = {}) {
  // In a process group of its own, which every primary it upgrades to joins: a failed step stops them all,
  // a new primary that had not said its pid yet included.
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
    detached: true,
  });
  const stopAll = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  };
  process.once('exit', stopAll);
  const records = [];
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) records.push(JSON.parse(line));
  });
  const waitFor = async (event, from = 0, ms = 30_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const found = records.slice(from).find((r) => r.event === event);
      if (found) return found;
      if (Date.now() > until) throw new Error(`no "${event}" line within ${ms} ms`);
      await sleep(20);
    }
  };
  return { child, records, waitFor, stopAll };
}
