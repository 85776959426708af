// Throughput over a load run's exact window, from its time buckets.

/**
 * Counts the responses in whole buckets from `startAt` (a bucket boundary) up to `stopAt`, so a load
 * generator's start-up and shutdown never inflate or deflate the rate. Buckets are
 * [epoch ms, responses, failed, non-2xx, max latency ms].
 */
export function windowOf(buckets, bucketMs, startAt, stopAt) {
  const end = Math.floor(stopAt / bucketMs) * bucketMs;
  let requests = 0;
  for (const [t, responses] of buckets) if (t >= startAt && t < end) requests += responses;
  return { startAt, stopAt, durationMs: Math.max(0, end - startAt), requests };
}
