// Load with wrk: one thread per connection and the timeline script, so per-request latency and failures land in time buckets.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { windowOf } from './window.mjs';

const SCRIPT = new URL('./timeline.lua', import.meta.url).pathname;
/** Time given to wrk to create its threads before they all start sending at once. */
const START_DELAY = 500;

/** The wrk binary to use, or null when none is installed. */
export function findWrk() {
  const candidates = [process.env.WRK, 'wrk'].filter(Boolean);
  for (const bin of candidates) {
    const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (!probe.error) return { bin, version: (probe.stdout || probe.stderr).split('\n')[0].trim() };
  }
  return null;
}

/**
 * Starts wrk against `url`: all threads start sending at `startAt`; it runs for `durationSec`, or until
 * `stop()` when durationSec is null (wrk reports and runs the script's done() on SIGINT too). Throughput is
 * counted from the script's buckets over exactly that window: wrk's own duration starts once its threads
 * are created, which under full CPU load can be seconds after the first ones began. With `settleSec`, the
 * responses per worker are also counted from that long after the start (`settledPerWorker`).
 */
export function startWrk({ bin, url, connections, keepAlive, durationSec, bucketMs, timeoutSec, settleSec = 0 }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qilin-bench-wrk-'));
  const out = path.join(dir, 'result.json');
  const args = ['-t', String(connections), '-c', String(connections), '-d', '3600s', '--timeout', `${timeoutSec}s`, '-s', SCRIPT];
  if (!keepAlive) args.push('-H', 'Connection: close');
  args.push(url);
  const startAt = Math.ceil((Date.now() + START_DELAY) / bucketMs) * bucketMs;
  const child = spawn(bin, args, {
    env: {
      ...process.env,
      BENCH_WRK_OUT: out,
      BENCH_BUCKET_MS: String(bucketMs),
      BENCH_START_AT: String(startAt),
      BENCH_SETTLE_AT: String(settleSec > 0 ? startAt + settleSec * 1000 : 0),
      BENCH_TIMEOUT_MS: String(timeoutSec * 1000),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let stopAt = null;
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const result = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      try {
        const raw = JSON.parse(readFileSync(out, 'utf8'));
        resolve(normalize(raw, { startAt, stopAt, stdout, settleSec }));
      } catch (error) {
        reject(new Error(`wrk exited (${code ?? signal}) without results: ${stderr || stdout || error.message}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
  const stop = () => {
    if (stopAt === null) stopAt = Date.now();
    child.kill('SIGINT');
    return result;
  };
  if (durationSec !== null) setTimeout(stop, startAt + durationSec * 1000 - Date.now());
  return { startAt, result, stop };
}

function normalize(raw, { startAt, stopAt, stdout, settleSec }) {
  const { errors } = raw;
  return {
    tool: 'wrk',
    ...windowOf(raw.buckets, raw.bucketMs, startAt, stopAt),
    // Failed requests, each counted once: the kinds add up to the lost requests.
    failures: {
      // Sent (or attempted) and never answered: reset, closed, or refused; seen by the script per request.
      noResponse: raw.buckets.reduce((sum, b) => sum + b[2], 0),
      // Answered with a status outside 2xx (wrk's own counter only counts status > 399).
      non2xx: raw.buckets.reduce((sum, b) => sum + b[3], 0),
      // Answered, but after the timeout (wrk's counter).
      timeout: errors.timeout,
      // Still unanswered at the end, and older than the timeout.
      hung: raw.hung,
    },
    // wrk's socket error counters, for cross-checking `noResponse` (read + write + connect should match it).
    wrkErrors: { connect: errors.connect, read: errors.read, write: errors.write, timeout: errors.timeout, status: errors.status },
    latencyMs: {
      mean: raw.latencyUs.mean / 1000,
      p50: raw.latencyUs.p50 / 1000,
      p90: raw.latencyUs.p90 / 1000,
      p99: raw.latencyUs.p99 / 1000,
      p999: raw.latencyUs.p999 / 1000,
      max: raw.latencyUs.max / 1000,
    },
    wrk: { requests: raw.requests, durationMs: raw.durationUs / 1000 },
    // Per serving process (the pid in the app's body): [responses, connections it answered at least once]. With
    // keep-alive a connection stays on one worker; with `Connection: close` every connection meets every worker.
    perWorker: raw.workers ?? {},
    // The same from `settleSec` after the start (with `settleSec`): the load once the pool has settled.
    ...(settleSec > 0 ? { settledPerWorker: raw.settledWorkers ?? {} } : {}),
    bucketMs: raw.bucketMs,
    // [epoch ms of bucket start, responses, failed requests, non-2xx responses, max latency ms]
    buckets: raw.buckets,
    summary: stdout.trim(),
  };
}
