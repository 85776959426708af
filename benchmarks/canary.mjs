// Canary reloads under load: the qilin command with 2 workers of the benchmark's app and `canary`, wrk in each client mode and each balancing mode; a deploy that answers every request with a 500 is reloaded to (the canary must fail it, and the previous workers serve on), then a good one (the canary passes, the reload completes). What users saw in each: 5xx responses, and any request lost.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startQilin } from './lib/command.mjs';
import { findLoadTool } from './lib/load.mjs';
import { freePort, sleep } from './lib/util.mjs';

const APP = new URL('./app.cjs', import.meta.url).pathname;

const { values: flags } = parseArgs({
  options: {
    canary: { type: 'string', default: '5s' },
    modes: { type: 'string', default: 'keep-alive,close' },
    balances: { type: 'string', default: 'kernel,round-robin' },
    connections: { type: 'string', default: '32' },
  },
});

/** One case: a broken deploy, then a good one, under load; returns what the canary saw and what the clients saw. */
async function runCase(mode, balance, tool) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qilin-canary-bench-'));
  const port = await freePort();
  const config = path.join(dir, 'qilin.config.json');
  const deploy = (status) =>
    writeFileSync(config, JSON.stringify({ app: APP, workers: 2, balance, canary: flags.canary, timeout: '1s', env: { PORT: String(port), BENCH_STATUS: String(status) } }));
  deploy(200);
  const qilin = startQilin(['--log-format', 'json'], { cwd: dir });
  let load = null;
  try {
    await qilin.waitFor('started');
    load = tool.start({
      url: `http://127.0.0.1:${port}/`,
      connections: Number(flags.connections),
      keepAlive: mode === 'keep-alive',
      durationSec: null,
      bucketMs: 100,
      timeoutSec: 2,
    });
    await sleep(1000 + (load.startAt - Date.now()));
    const step = async (status, outcome) => {
      const from = qilin.records.length;
      deploy(status);
      const askedAt = Date.now();
      process.kill(qilin.child.pid, 'SIGUSR2');
      const ended = await qilin.waitFor('canaryEnd', from, 120_000);
      const done = await qilin.waitFor(outcome, from, 120_000);
      return { status, canary: ended, outcome: done.event, ms: Date.now() - askedAt };
    };
    const broken = await step(500, 'reloadFailed');
    await sleep(1000);
    const good = await step(200, 'reloadEnd');
    await sleep(1000);
    const phase = await load.stop();
    load = null;
    return { mode, balance, broken, good, phase };
  } finally {
    // A failed step leaves nothing running: not the load (its wrk runs for an hour), not qilin.
    await load?.stop().catch(() => {});
    qilin.stopAll();
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

const tool = findLoadTool('auto');
console.log(`Canary reloads under load: qilin command, 2 workers, canary ${flags.canary}, load from ${tool.name}`);
for (const mode of flags.modes.split(',').filter(Boolean)) {
  for (const balance of flags.balances.split(',').filter(Boolean)) {
    const { broken, good, phase } = await runCase(mode, balance, tool);
    const f = phase.failures;
    const lost = f.noResponse + f.timeout + f.hung;
    const share = (c) => `${c.errors} of ${c.responses}`;
    console.log(
      `  ${mode}, ${balance}: broken deploy ${broken.outcome === 'reloadFailed' ? 'rolled back' : `NOT rolled back (${broken.outcome})`} after ${broken.ms} ms ` +
        `(canary 5xx ${share(broken.canary.canary)}, previous workers ${share(broken.canary.previous)}); ` +
        `good deploy ${good.outcome === 'reloadEnd' ? 'done' : good.outcome} in ${good.ms} ms (canary 5xx ${share(good.canary.canary)}); ` +
        `clients: ${phase.requests} responses, ${f.non2xx} with a non-2xx status, ${lost} lost (no response ${f.noResponse}, timed out ${f.timeout}, hung ${f.hung})`,
    );
  }
}
