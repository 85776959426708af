// "Did you mean ...?": the known name closest to a mistyped one, for unknown options, flags and commands.

/** Edit distance between two strings (insertions, deletions, substitutions and swaps of neighbours each cost 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** Lower case without `-` and `_`, so `ready_timeout`, `ready-timeout` and `readyTimeout` compare equal. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The known name a mistyped `name` most likely meant, or undefined when none is close: the same name in
 * another case or spelling (`ready_timeout` for `readyTimeout`), else the nearest within a third of its
 * length (2 edits for names of 4 to 8 letters, 1 for shorter ones), so `worker` suggests `workers`, and
 * `file` and `uid` suggest nothing.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = normalize(name);
  if (wanted === '') return undefined;
  const same = known.find((candidate) => normalize(candidate) === wanted);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestDistance = (wanted.length <= 3 ? 1 : Math.max(2, Math.floor(wanted.length / 3))) + 1;
  for (const candidate of known) {
    const distance = editDistance(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
