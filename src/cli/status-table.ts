// The `qilin status` table: the primary, one row per worker (empty slots included) and the totals, from an `/info` answer.
import type { InfoAnswer, Uptime } from '../admin/answers.js';

/** An uptime in its two largest units: `2d 3h`, `4h 5m`, `6m 7s`, `8s`. */
export function formatUptime(uptime: Uptime): string {
  const parts: [number, string][] = [
    [uptime.days, 'd'],
    [uptime.hours, 'h'],
    [uptime.minutes, 'm'],
    [uptime.seconds, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first < 0) return '0s';
  return parts
    .slice(first, first + 2)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}

const cpu = (value: number | null): string => (value === null ? '-' : `${value.toFixed(1)}%`);
const mem = (value: number | null): string => (value === null ? '-' : `${value.toFixed(1)} MB`);
// Older primaries' answers have no counts (undefined): shown as unknown.
const count = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : String(value));

/** Left-aligned columns, two spaces apart, without trailing spaces. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Each worker's responses per second between two `/info` answers taken `seconds` apart, by pid: for the live
 * view. A worker missing from either, or without counts, has none.
 */
export function responseRates(before: InfoAnswer, after: InfoAnswer, seconds: number): Map<number, number> {
  const rates = new Map<number, number>();
  if (!(seconds > 0)) return rates;
  const earlier = new Map(before.workers.map((w) => [w.pid, w.responses]));
  for (const w of after.workers) {
    const then = earlier.get(w.pid);
    if (w.pid === null || typeof then !== 'number' || typeof w.responses !== 'number' || w.responses < then) continue;
    rates.set(w.pid, (w.responses - then) / seconds);
  }
  return rates;
}

const rate = (value: number | undefined): string => (value === undefined ? '-' : value >= 100 ? value.toFixed(0) : value.toFixed(1));

/**
 * Renders `/info` as the lines of `qilin status`, ending with a newline: CONNS is each worker's open
 * connections. With `rates` (the live view, from one look to the next), a REQ/S column per worker and the
 * cluster's total.
 */
export function renderStatus(info: InfoAnswer, rates?: ReadonlyMap<number, number>): string {
  const { master, cluster } = info;
  const header = [
    `primary pid ${master.pid}`,
    `CPU ${cpu(master.cpu)}`,
    `memory ${mem(master.mem)}`,
    `up ${formatUptime(master.uptime)}`,
    `generation ${cluster.generation}`,
    `${cluster.readySlots}/${cluster.slots} slots ready`,
  ].join(', ');
  const lines = [header];
  if (cluster.reloading) lines.push(`reloading to generation ${cluster.reloading.generation} for ${cluster.reloading.seconds}s`);

  const rows: string[][] = [['SLOT', 'PID', 'STATE', 'GEN', 'CPU', 'MEMORY', 'UPTIME', 'RESTARTS', 'RESPONSES', '5XX', 'CONNS', ...(rates ? ['REQ/S'] : [])]];
  for (let slot = 0; slot < Math.max(cluster.slots, 0); slot += 1) {
    const workers = info.workers.filter((w) => w.slot === slot);
    if (workers.length === 0) rows.push([String(slot), '-', 'empty', '-', '-', '-', '-', '-', '-', '-', '-', ...(rates ? ['-'] : [])]);
  }
  for (const w of info.workers) {
    const state = w.state === 'ready' && !w.active ? 'ready (next)' : w.state;
    rows.push([
      String(w.slot),
      String(w.pid ?? '-'),
      state,
      String(w.generation),
      cpu(w.cpu),
      mem(w.mem),
      formatUptime(w.uptime),
      String(w.restarts),
      count(w.responses),
      count(w.errors),
      count(w.connections),
      ...(rates ? [rate(w.pid === null ? undefined : rates.get(w.pid))] : []),
    ]);
  }
  const [head, ...body] = rows;
  body.sort((a, b) => Number(a[0]) - Number(b[0]));
  lines.push('', ...table(head ? [head, ...body] : body), '');
  const total = rates && rates.size > 0 ? `, ${rate([...rates.values()].reduce((sum, r) => sum + r, 0))} responses/s` : '';
  lines.push(`total CPU ${cpu(info.total.cpu)}, memory ${mem(info.total.mem)}${total}`);
  return `${lines.join('\n')}\n`;
}
