// Runs autocannon in its own process (it is JavaScript, and would otherwise share run.mjs's event loop) and
// buckets every response and failure by time, as timeline.lua does for wrk.
import { createRequire } from 'node:module';

const autocannon = createRequire(import.meta.url)('autocannon');
const { url, connections, keepAlive, bucketMs, timeoutSec } = JSON.parse(process.argv[2]);

const buckets = new Map();
/**
 * Per serving process (the pid in the app's body, `hello <pid>`): the clients it answered at least once, and its
 * responses per time bucket, so that autocannon.mjs counts them over the same window as the throughput
 * (autocannon sends from the moment it starts, before the window opens).
 */
const clientsOf = {};
const workerBuckets = new Map();
/** Requests autocannon abandoned at its timeout: counted among the failed in the buckets, reported apart. */
let timedOut = 0;
function bucket(t) {
  const key = Math.floor(t / bucketMs) * bucketMs;
  let b = buckets.get(key);
  if (!b) buckets.set(key, (b = [key, 0, 0, 0, 0]));
  return b;
}

/**
 * autocannon reconnects quietly when a server closes a connection, and writes its next request even after a
 * response that said `Connection: close`. So each client is watched: a request outstanding when a connection
 * ends is a failed request, unless the server had announced the close.
 */
function setupClient(client) {
  let outstanding = [];
  let closeAnnounced = false;
  let body = '';
  const seen = new Set();
  client.on('request', () => outstanding.push(Date.now()));
  client.on('headers', (info) => {
    closeAnnounced = info.shouldKeepAlive === false;
    body = '';
  });
  // The body's bytes, in one or more pieces.
  client.on('body', (chunk) => (body += chunk.toString('latin1')));
  client.on('response', (status, bytes, latencyMs) => {
    outstanding.shift();
    const servedBy = /^hello (\d+)$/.exec(body)?.[1] ?? null;
    if (servedBy !== null) {
      const key = Math.floor(Date.now() / bucketMs) * bucketMs;
      let counts = workerBuckets.get(key);
      if (!counts) workerBuckets.set(key, (counts = {}));
      counts[servedBy] = (counts[servedBy] ?? 0) + 1;
      if (!seen.has(servedBy)) {
        seen.add(servedBy);
        clientsOf[servedBy] = (clientsOf[servedBy] ?? 0) + 1;
      }
    }
    const b = bucket(Date.now());
    b[1] += 1;
    if (status < 200 || status > 299) b[3] += 1;
    b[4] = Math.max(b[4], latencyMs);
  });
  // On its timeout autocannon drops the connection and reconnects (counted as failed below), then says why.
  let lastDropped = 0;
  client.on('timeout', () => {
    timedOut += lastDropped;
    lastDropped = 0;
  });
  const connect = client._connect;
  client._connect = function watchedConnect() {
    lastDropped = closeAnnounced ? 0 : outstanding.length;
    if (lastDropped > 0) bucket(Date.now())[2] += lastDropped;
    outstanding = [];
    closeAnnounced = false;
    return connect.call(this);
  };
}

const instance = autocannon({
  url,
  connections,
  duration: 3600,
  timeout: timeoutSec,
  headers: keepAlive ? {} : { connection: 'close' },
  setupClient,
});
instance.on('done', (result) => {
  process.send({
    type: 'result',
    result: {
      buckets: [...buckets.values()].sort((a, b) => a[0] - b[0]),
      latency: result.latency,
      timeouts: result.timeouts,
      timedOut,
      clientsOf,
      workerBuckets: [...workerBuckets.entries()],
      errors: result.errors,
      requests: result.requests.total,
      durationMs: result.duration * 1000,
    },
  });
  process.disconnect();
});
process.on('message', (message) => {
  if (message?.type === 'stop') instance.stop();
});
process.send({ type: 'started' });
