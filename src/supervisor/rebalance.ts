// How many kept-alive connections each worker asks to reconnect when the kernel balancing left them uneven (pure; the primary's rebalancer acts on it).

/**
 * How far apart, in busy connections, the busiest and the idlest worker may be before a round moves any: an
 * eighth of a fair share, at least 1 (2 workers holding 14 and 18 of 32 answered 1.36 times as many requests
 * on the busier, measured; 15 and 17 is within it). Below it, counts that move a little from one second to the next are
 * left alone; above it, the round evens them out (see `planRebalance`).
 */
export function allowedGap(total: number, workers: number): number {
  return workers === 0 ? 0 : Math.max(1, Math.floor(total / workers / 8));
}

/** What each worker of a rebalancing round does, by index: asks `shed` busy clients to reconnect, or should get `take` of them. */
export interface RebalancePlan {
  readonly shed: readonly number[];
  readonly take: readonly number[];
}

/**
 * For each worker's busy connections, how many it should ask to reconnect, and how many of those each other
 * worker should get. All zeros while the busiest and the idlest are within `allowedGap`; past it, one at a time
 * from the busiest worker that can still shed to the idlest, until no two differ by more than one. A worker's
 * requests follow its connections (4 workers on 2 cores holding 7 to 9 of 32 answered 1.25 times as many on
 * the busiest as on the idlest), so a round ends as even as the count allows. A worker sheds at most its
 * `movable` connections (those that have lasted; all of them when not given), so a pool that has just opened
 * is counted but left where it is. The primary steers the reconnecting clients that come back to a worker
 * that shed to those that should take them; any that the kernel gives elsewhere, the next round, on fresh
 * counts, sees.
 */
export function planRebalance(busy: readonly number[], movable: readonly number[] = busy): RebalancePlan {
  const workers = busy.map((held, i) => ({ held, movable: Math.min(held, movable[i] ?? 0), shed: 0, take: 0 }));
  if (workers.length >= 2) {
    const gap = allowedGap(
      busy.reduce((sum, n) => sum + n, 0),
      busy.length,
    );
    for (let limit = gap; ; limit = 1) {
      const least = workers.reduce((a, b) => (b.held < a.held ? b : a));
      const most = workers.reduce<(typeof workers)[number] | null>((a, b) => (b.shed < b.movable && (a === null || b.held > a.held) ? b : a), null);
      if (most === null || most.held - least.held <= limit) break;
      most.held -= 1;
      most.shed += 1;
      least.held += 1;
      least.take += 1;
    }
  }
  return { shed: workers.map((w) => w.shed), take: workers.map((w) => w.take) };
}
