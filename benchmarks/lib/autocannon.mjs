// Load with autocannon, for machines without wrk: same interface and figures as wrk.mjs.
import { fork } from 'node:child_process';
import { windowOf } from './window.mjs';

const CHILD = new URL('./autocannon-child.mjs', import.meta.url).pathname;

/** Responses per serving process over the throughput's window (as windowOf), with the clients each answered: { pid: [responses, clients] }. */
function perWorkerIn(raw, bucketMs, startAt, stopAt) {
  const end = Math.floor(stopAt / bucketMs) * bucketMs;
  const perWorker = Object.fromEntries(Object.entries(raw.clientsOf).map(([pid, clients]) => [pid, [0, clients]]));
  for (const [t, counts] of raw.workerBuckets) {
    if (t < startAt || t >= end) continue;
    for (const [pid, n] of Object.entries(counts)) perWorker[pid][0] += n;
  }
  return perWorker;
}

export function startAutocannon({ url, connections, keepAlive, durationSec, bucketMs, timeoutSec, settleSec = 0 }) {
  const child = fork(CHILD, [JSON.stringify({ url, connections, keepAlive, bucketMs, timeoutSec })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // autocannon starts at once: the window begins at the first whole bucket after its process is up.
  let startAt = Math.ceil((Date.now() + 300) / bucketMs) * bucketMs;
  let stopAt = null;
  const started = new Promise((resolve) => child.once('message', resolve));
  const result = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('message', (message) => {
      if (message?.type !== 'result') return;
      const raw = message.result;
      const sum = (i) => raw.buckets.reduce((total, b) => total + b[i], 0);
      resolve({
        tool: 'autocannon',
        ...windowOf(raw.buckets, bucketMs, startAt, stopAt),
        // autocannon abandons a request at its timeout rather than waiting for a late response.
        failures: { noResponse: sum(2) - raw.timedOut, non2xx: sum(3), timeout: raw.timedOut, hung: 0 },
        autocannon: { requests: raw.requests, durationMs: raw.durationMs, errors: raw.errors, timeouts: raw.timeouts },
        latencyMs: {
          mean: raw.latency.average,
          p50: raw.latency.p50,
          p90: raw.latency.p90,
          p99: raw.latency.p99,
          p999: raw.latency.p99_9,
          max: raw.latency.max,
        },
        perWorker: perWorkerIn(raw, bucketMs, startAt, stopAt),
        ...(settleSec > 0 ? { settledPerWorker: perWorkerIn(raw, bucketMs, startAt + settleSec * 1000, stopAt) } : {}),
        bucketMs,
        buckets: raw.buckets,
        summary: '',
      });
    });
    child.on('exit', (code) => {
      if (stopAt === null) reject(new Error(`autocannon exited (${code}) before it was stopped`));
    });
  });
  const stop = () => {
    if (stopAt === null) stopAt = Date.now();
    child.send({ type: 'stop' });
    return result;
  };
  if (durationSec !== null) {
    started.then(() => {
      startAt = Math.max(startAt, Math.ceil(Date.now() / bucketMs) * bucketMs);
      setTimeout(stop, startAt + durationSec * 1000 - Date.now());
    });
  }
  return {
    get startAt() {
      return startAt;
    },
    result,
    stop,
  };
}
