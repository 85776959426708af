// Workers' stderr on its way to the primary's: copied with backpressure, so a slow reader slows the writing workers and never grows the primary.
import type { Readable } from 'node:stream';

/** Worker streams paused until the primary's stderr drains. */
const paused = new Set<Readable>();
let guarded = false;

function resumeAll(): void {
  for (const stream of paused) stream.resume();
  paused.clear();
}

/**
 * Writes a chunk of a worker's stderr to the primary's. When the primary's stderr is a pipe whose reader has
 * stalled (a slow log driver, `| tee` on a full disk), a write only queues the chunk in memory; copying on
 * regardless grew the primary by the whole flood. Instead, the worker's stream is paused until the primary's
 * stderr drains: the worker's own pipe then fills, and the kernel blocks the writing worker, as it would
 * block a process writing to an inherited descriptor. A closed stderr (EPIPE) must not crash the primary,
 * so its errors are ignored.
 */
export function copyToStderr(chunk: Buffer, from: Readable, to: NodeJS.WritableStream & { once: NodeJS.EventEmitter['once'] } = process.stderr): void {
  if (!guarded && to === process.stderr) {
    guarded = true;
    process.stderr.on('error', () => {});
  }
  if (to.write(chunk) || paused.has(from)) return;
  if (paused.size === 0) to.once('drain', resumeAll);
  paused.add(from);
  from.pause();
  // A worker that exits while paused is forgotten: its stream will not be resumed, and need not be.
  from.once('close', () => paused.delete(from));
}
