// The small IPC protocol between run.mjs and each system's primary: start, reload on request, stop.
//
// A primary calls `control({ start, reload, stop })`. run.mjs receives
//   { type: 'ready', coldStartMs, primaryPid, balance }   once the first workers listen (balance: how
//                                                          connections reach them, as the primary reports it),
//   { type: 'reloaded', id, startedAt, endedAt, ... }      for each { type: 'reload', id },
//   { type: 'heap', id, youngBytes }                       for each { type: 'heap', id }: the size V8 has
//                                                          given this process's young generation,
// and sends { type: 'stop' } at the end, after which the primary stops its workers and exits.
import v8 from 'node:v8';

export const APP = new URL('../app.cjs', import.meta.url).pathname;
export const WORKERS = Number(process.env.BENCH_WORKERS || 2);

export async function control({ start, reload, stop }) {
  const send = (message) => process.send?.(message);
  try {
    const t0 = performance.now();
    const info = (await start()) ?? {};
    send({ type: 'ready', coldStartMs: performance.now() - t0, primaryPid: process.pid, ...info });
  } catch (error) {
    send({ type: 'failed', error: String(error?.stack ?? error) });
    process.exit(1);
  }
  process.on('message', async (message) => {
    if (message?.type === 'reload') {
      const startedAt = Date.now();
      const t0 = performance.now();
      try {
        const detail = (await reload()) ?? {};
        send({ type: 'reloaded', id: message.id, startedAt, endedAt: Date.now(), durationMs: performance.now() - t0, ...detail });
      } catch (error) {
        send({ type: 'reloaded', id: message.id, startedAt, endedAt: Date.now(), durationMs: performance.now() - t0, error: String(error?.message ?? error) });
      }
    } else if (message?.type === 'heap') {
      const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
      send({ type: 'heap', id: message.id, youngBytes: young?.space_size ?? null });
    } else if (message?.type === 'stop') {
      try {
        await stop();
      } finally {
        process.exit(0);
      }
    }
  });
  // run.mjs went away: do not leave workers behind.
  process.on('disconnect', async () => {
    try {
      await stop();
    } finally {
      process.exit(0);
    }
  });
}
