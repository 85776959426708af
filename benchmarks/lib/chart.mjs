// Draws the SVG chart: per system and client mode, the slowest response and the failed requests over time, reloads shaded.
import { lostOf } from './util.mjs';

const PANEL_W = 500;
const PANEL_H = 110;
const LEFT = 52;
const GAP_X = 40;
const TOP = 70;
const ROW_GAP = 42;
const LAT_MIN = 0.1;
const LAT_MAX = 10_000;
const MODE_TITLES = { 'keep-alive': 'Keep-alive clients', close: 'Connection: close clients' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (n) => (Math.round(n * 10) / 10).toString();

function latencyY(ms) {
  const clamped = Math.min(LAT_MAX, Math.max(LAT_MIN, ms));
  const t = (Math.log10(clamped) - Math.log10(LAT_MIN)) / (Math.log10(LAT_MAX) - Math.log10(LAT_MIN));
  return PANEL_H * (1 - t);
}

/** Bar height for a count of failed requests: log scale, 1000 reaches the top of the panel. */
function failureHeight(n) {
  return Math.min(PANEL_H, (Math.log10(1 + n) / 3) * PANEL_H);
}

function panel(run, spanSec, x0, y0) {
  const phase = run.reloadPhase;
  const t0 = phase.startAt;
  const sx = (ms) => x0 + ((ms - t0) / 1000 / spanSec) * PANEL_W;
  const out = [];
  out.push(`<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" class="frame"/>`);
  for (const r of run.reloads) {
    out.push(`<rect x="${f(sx(r.startedAt))}" y="${y0}" width="${f(Math.max(1, sx(r.endedAt) - sx(r.startedAt)))}" height="${PANEL_H}" class="reload"/>`);
  }
  for (const ms of [1, 10, 100, 1000]) {
    const y = y0 + latencyY(ms);
    out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${f(y)}" y2="${f(y)}" class="grid"/>`);
    out.push(`<text x="${x0 - 4}" y="${f(y + 3)}" class="axis" text-anchor="end">${ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`}</text>`);
  }
  const points = [];
  let path = '';
  for (const [t, responses, failed, non2xx, maxMs] of phase.buckets) {
    if (t < t0 || t >= phase.stopAt) continue;
    const x = sx(t + phase.bucketMs / 2);
    if (responses > 0) points.push(`${f(x)},${f(y0 + latencyY(maxMs))}`);
    else if (points.length) {
      path += `<polyline points="${points.join(' ')}" class="latency"/>`;
      points.length = 0;
    }
    const bad = failed + non2xx;
    if (bad > 0) {
      const h = Math.max(2, failureHeight(bad));
      out.push(`<rect x="${f(x - 1.5)}" y="${f(y0 + PANEL_H - h)}" width="3" height="${f(h)}" class="failed"><title>${bad} failed</title></rect>`);
    }
  }
  if (points.length) path += `<polyline points="${points.join(' ')}" class="latency"/>`;
  out.push(path);
  for (let s = 0; s <= spanSec; s += spanSec > 40 ? 10 : 5) {
    const x = x0 + (s / spanSec) * PANEL_W;
    out.push(`<text x="${f(x)}" y="${y0 + PANEL_H + 12}" class="axis" text-anchor="middle">${s}s</text>`);
  }
  const lost = lostOf(phase);
  out.push(
    `<text x="${x0}" y="${y0 - 6}" class="label">${esc(run.label)} <tspan class="${lost ? 'bad' : 'good'}">${lost.toLocaleString('en-US')} lost</tspan></text>`,
  );
  return out.join('\n');
}

export function drawChart(results) {
  // Only the systems that were reloaded: reuseport has no reload.
  const reloaded = results.runs.filter((r) => r.reloadPhase);
  const modes = [...new Set(reloaded.map((r) => r.mode))];
  const systems = [...new Set(reloaded.map((r) => r.name))];
  const width = LEFT + modes.length * (PANEL_W + GAP_X);
  const height = TOP + systems.length * (PANEL_H + ROW_GAP) + 10;
  const parts = [];
  modes.forEach((mode, col) => {
    const runs = reloaded.filter((r) => r.mode === mode);
    const span = Math.ceil(Math.max(...runs.map((r) => (r.reloadPhase.stopAt - r.reloadPhase.startAt) / 1000)));
    const x0 = LEFT + col * (PANEL_W + GAP_X);
    parts.push(`<text x="${x0}" y="${TOP - 30}" class="mode">${esc(MODE_TITLES[mode] ?? mode)}</text>`);
    systems.forEach((name, row) => {
      const run = runs.find((r) => r.name === name);
      if (run) parts.push(panel(run, span, x0, TOP + row * (PANEL_H + ROW_GAP)));
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">
<style>
  .frame { fill: #fff; stroke: #bbb; }
  .reload { fill: #f5a623; opacity: 0.22; }
  .grid { stroke: #eee; }
  .latency { fill: none; stroke: #1f6feb; stroke-width: 1; }
  .failed { fill: #d1242f; }
  .axis { font-size: 9px; fill: #666; }
  .label { font-size: 12px; fill: #222; font-weight: 600; }
  .mode { font-size: 14px; fill: #222; font-weight: 700; }
  .bad { fill: #d1242f; }
  .good { fill: #1a7f37; }
  .legend { font-size: 11px; fill: #444; }
</style>
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="${LEFT}" y="18" class="legend"><tspan fill="#1f6feb">━ slowest response per ${results.config.bucketMs} ms (log scale)</tspan>   <tspan fill="#d1242f">▮ failed requests in that interval (log scale; 1000 = full height)</tspan>   <tspan fill="#c77c02">▒ a reload, start to completion</tspan>   ${results.config.reloads} reloads, ${esc(results.machine.loadTool.split(' ')[0])} ${results.config.connections} connections, ${esc(results.startedAt.slice(0, 10))}</text>
${parts.join('\n')}
</svg>
`;
}
