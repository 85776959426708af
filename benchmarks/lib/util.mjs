// Small helpers: sleeping, free ports, statistics, formatting.
import net from 'node:net';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function max(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? Math.max(...finite) : null;
}

/** The value below which `share` of `values` lie (0.25 for the first quartile), by nearest rank. */
export function quantile(values, share) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(share * (sorted.length - 1))))];
}

/**
 * Ratios of `a` to `b` slice by slice (slices measured in the same round, one right after the other), so that
 * a change in the machine's speed during the run, which falls on both, cancels out of each ratio.
 */
export function pairedRatios(a, b) {
  if (!a?.length || !b?.length || a.length !== b.length) return [];
  return a.map((value, i) => ratio(value, b[i])).filter((r) => r !== null);
}

/**
 * A 95% bootstrap interval of the median of `values`: the median of `resamples` draws with replacement, its
 * 2.5th and 97.5th percentiles. The draws come from a fixed seed, so rendering a results file again gives the
 * same figures.
 */
export function medianInterval(values, resamples = 4000) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return null;
  let seed = 0x9e3779b9;
  // mulberry32: a small seeded generator; Math.random() cannot be seeded.
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const medians = [];
  for (let i = 0; i < resamples; i += 1) medians.push(median(finite.map(() => finite[Math.floor(random() * finite.length)])));
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

/** A copy of `items` in random order (Fisher-Yates). */
export function shuffle(items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** CPU time spent between two readings (ms, null where unreadable) per request served, in µs; null when either is missing. */
export function cpuUsPerRequest(cpuBeforeMs, cpuAfterMs, requests) {
  return cpuBeforeMs === null || cpuAfterMs === null || !requests ? null : ((cpuAfterMs - cpuBeforeMs) * 1000) / requests;
}

/** Bytes as MiB with `digits` decimals and the unit: `85.7 MiB`. */
export const mib = (bytes, digits = 1) => `${(bytes / 2 ** 20).toFixed(digits)} MiB`;

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : null;
}

/** Lost requests: never answered (reset, closed, refused), answered with a non-2xx status, answered too late, or left hanging. */
export function lostOf(load) {
  const f = load.failures;
  return f.noResponse + f.non2xx + f.timeout + f.hung;
}

/** Responses per second of a load run; null for one that took no time. */
export function throughputOf(load) {
  return load.durationMs > 0 ? load.requests / (load.durationMs / 1000) : null;
}
