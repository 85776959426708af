// Turns raw runs into the figures the report shows: per system and mode, the spread across workers, and the targets.
import { lostOf, max, median, medianInterval, mib, pairedRatios, quantile, ratio, throughputOf } from './util.mjs';

export const TARGETS = {
  // Steady-state throughput of qilin (default options) with `Connection: close` clients: against bare
  // node:cluster (round-robin), and against standalone processes on SO_REUSEPORT sockets, the limit.
  closeVsBare: 1.6,
  closeVsReuseport: 0.97,
  keepAliveVsBare: 0.97,
  // The primary's CPU per request answered, under `Connection: close` load.
  primaryCpuUs: 5,
  // Reloads in each soak of qilin and qilin-rr, per client mode, with 0 lost (wrk's requests and the pollers').
  soakReloads: 2000,
  // The primary's RSS after the close-mode soak against its own idle figure.
  soakVsIdle: 1.1,
  // The primary's memory against a bare node:cluster primary that balances the same way.
  memoryRatio: 1.2,
  reloadVsColdStart: 1.5,
  // Busiest worker's requests over the idlest one's, over a steady window.
  spreadRatio: 1.3,
};

/** The figures of one run (one system in one client mode). A system without reload (reuseport) has only the steady state. */
export function figures(run) {
  const reloads = run.reloads ?? [];
  const reloadMs = reloads.map((r) => r.durationMs);
  const phase = run.reloadPhase ?? null;
  const slices = run.steadyRounds ?? [];
  // The primary's CPU over all steady slices together: a slice of 2 s holds only a few clock ticks of it.
  const timed = slices.filter((r) => r.primaryCpuUsPerRequest != null && r.requests > 0);
  const timedRequests = timed.reduce((sum, r) => sum + r.requests, 0);
  return {
    name: run.name,
    label: run.label,
    mode: run.mode,
    balance: run.balance ?? null,
    noReload: Boolean(run.noReload) || !phase,
    lost: phase ? lostOf(phase) : null,
    failures: phase?.failures ?? null,
    reloads: reloads.length,
    failedReloads: reloads.filter((r) => r.error).length,
    steadyRps: run.steady.rps,
    steadySlices: slices.map(throughputOf),
    cpuSlices: slices.map((r) => r.workerCpuUsPerRequest ?? null),
    primaryCpuPerRequest: timedRequests > 0 ? timed.reduce((sum, r) => sum + r.primaryCpuUsPerRequest * r.requests, 0) / timedRequests : null,
    reloadRps: phase ? throughputOf(phase) : null,
    steadyP99: run.steady.p99,
    reloadP99: phase?.latencyMs.p99 ?? null,
    reloadMax: phase?.latencyMs.max ?? null,
    reloadMedianMs: median(reloadMs),
    reloadMaxMs: max(reloadMs),
    idleReloadMedianMs: median((run.idleReloads ?? []).map((r) => r.durationMs)),
    coldStartMs: run.coldStartMs,
    rssIdle: run.rssIdle ?? null,
    rssSteady: run.rssSteady,
    rssAfterReloads: run.rssAfterReloads,
    youngAfterReloads: run.youngAfterReloads ?? null,
    soak: run.soak ?? null,
  };
}

/**
 * A row's steady-state throughput against another's, slice by slice: the median of the paired ratios, the middle
 * half of them as the spread and a 95% bootstrap interval of the median. Slice i of every system is from round
 * i; the systems in --focus have more rounds than the others (run.mjs), so each pair is over the rounds both had.
 */
function steadyVs(row, base) {
  const rounds = Math.min(row.steadySlices.length, base?.steadySlices.length ?? 0);
  const paired = pairedRatios(row.steadySlices.slice(0, rounds), base?.steadySlices.slice(0, rounds));
  if (paired.length === 0) return { ratio: ratio(row.steadyRps, base?.steadyRps), spread: null, interval: null, rounds: 0 };
  return { ratio: median(paired), spread: [quantile(paired, 0.25), quantile(paired, 0.75)], interval: medianInterval(paired), rounds: paired.length };
}

/** Figures for every run, grouped by mode, with ratios against bare node:cluster (and reuseport) of the same mode. */
export function summarize(results) {
  const modes = [...new Set(results.runs.map((r) => r.mode))];
  return modes.map((mode) => {
    const rows = results.runs.filter((r) => r.mode === mode).map(figures);
    const bare = rows.find((r) => r.name === 'bare');
    const reuseport = rows.find((r) => r.name === 'reuseport');
    for (const row of rows) {
      const vsBare = steadyVs(row, bare);
      row.steadyRounds = vsBare.rounds;
      row.steadyVsBare = vsBare.ratio;
      row.steadyVsBareSpread = vsBare.spread;
      row.steadyVsBareInterval = vsBare.interval;
      row.steadyVsReuseport = reuseport ? steadyVs(row, reuseport) : null;
      row.cpuPerRequest = median(row.cpuSlices);
      const cpuRounds = Math.min(row.cpuSlices.length, bare?.cpuSlices.length ?? 0);
      const cpuPaired = pairedRatios(row.cpuSlices.slice(0, cpuRounds), bare?.cpuSlices.slice(0, cpuRounds));
      row.cpuVsBare = cpuPaired.length > 0 ? median(cpuPaired) : null;
      row.cpuVsBareSpread = cpuPaired.length > 0 ? [quantile(cpuPaired, 0.25), quantile(cpuPaired, 0.75)] : null;
      row.reloadVsSteady = ratio(row.reloadRps, row.steadyRps);
      row.p99VsSteady = ratio(row.reloadP99, row.steadyP99);
      row.rssIdleVsBare = ratio(row.rssIdle, bare?.rssIdle);
      row.rssVsBare = ratio(row.rssSteady, bare?.rssSteady);
      row.rssAfterVsBare = ratio(row.rssAfterReloads, bare?.rssAfterReloads);
      row.rssSoakVsBare = ratio(row.soak?.rss, bare?.soak?.rss);
      row.rssSoakVsIdle = ratio(row.soak?.rss, row.rssIdle);
    }
    return { mode, rows };
  });
}

/** The most requests one worker served over the fewest another served (Infinity when a worker served none; null with no workers). */
function busiestVsIdlest(perWorker) {
  const counts = perWorker.map((w) => w.responses);
  if (counts.length === 0) return null;
  const idlest = Math.min(...counts);
  return idlest > 0 ? Math.max(...counts) / idlest : Infinity;
}

/**
 * The spread phase's cases (run.mjs), each with busiest/idlest over the steady window (after the pool's first
 * `settleSec` seconds) and, for runs that recorded it, over the whole pool, its opening included.
 */
export function spreadCases(results) {
  return (results.spread ?? []).map((c) => {
    const connections = c.perWorker.map((w) => w.connections);
    return {
      ...c,
      rps: c.durationMs > 0 ? (c.requests * 1000) / c.durationMs : null,
      busiestVsIdlest: busiestVsIdlest(c.perWorker),
      wholeVsIdlest: c.perWorkerWhole ? busiestVsIdlest(c.perWorkerWhole) : null,
      connectionsRange: [Math.min(...connections), Math.max(...connections)],
    };
  });
}

const range = (pair, digits = 3) => pair.map((v) => v.toFixed(digits)).join('-');
const times = (v, digits = 2) => (v === Infinity ? '∞ (a worker served none)' : `${v.toFixed(digits)}×`);

/** A steady-state ratio with the rounds it rests on and its 95% interval: `0.997 over 96 rounds (95% interval 0.987-1.006)`. */
function vsText(vs) {
  if (vs?.ratio == null) return 'n/a';
  return `${vs.ratio.toFixed(3)}${vs.interval ? ` over ${vs.rounds} rounds (95% interval ${range(vs.interval)})` : ''}`;
}

/**
 * The targets, checked for qilin (default options: on Linux, balance 'reuseport') in this run, and for qilin-rr where the
 * target names it. `pass` is null where the run lacks what a target needs (a system or a phase not run).
 */
export function targets(results) {
  const groups = summarize(results);
  const rowOf = (mode, name) => groups.find((g) => g.mode === mode)?.rows.find((r) => r.name === name) ?? null;
  const modes = groups.map((g) => g.mode);
  if (!modes.some((mode) => rowOf(mode, 'qilin'))) return [];
  const list = [];
  const notRun = (target, why) => list.push({ target, detail: why, pass: null });

  // Lost requests: qilin in both balancings, and the rolling strategy.
  const reloading = ['qilin', 'qilin-kernel', 'qilin-rr', 'qilin-rolling'];
  const lossNames = { qilin: 'qilin', 'qilin-kernel': 'kernel', 'qilin-rr': 'round-robin', 'qilin-rolling': 'rolling' };
  const lossRows = modes.flatMap((mode) => reloading.map((name) => rowOf(mode, name)).filter((r) => r && !r.noReload));
  list.push({
    target: `0 lost requests over ${results.config.reloads} reloads in both client modes (qilin, qilin-kernel, qilin-rr, qilin-rolling)`,
    detail: modes
      .map((mode) => `${mode}: ${lossRows.filter((r) => r.mode === mode).map((r) => `${lossNames[r.name]} ${r.lost}${r.failedReloads ? ` (${r.failedReloads} reloads failed)` : ''}`).join(', ')}`)
      .join('; '),
    pass: lossRows.every((r) => r.lost === 0 && r.failedReloads === 0),
  });

  // The long zero-loss test: the soak of qilin and qilin-rr in each client mode. Results from before the soak
  // ran in every mode with pollers (no config.soakGapMs) have no such target.
  if (results.config.soakGapMs !== undefined) {
    const soakTarget = `0 lost requests in the soak, over at least ${TARGETS.soakReloads.toLocaleString('en-US')} reloads in each client mode, pollers included (qilin, qilin-rr)`;
    const soakRows = modes.flatMap((mode) => ['qilin', 'qilin-rr'].map((name) => rowOf(mode, name)).filter((r) => r?.soak));
    if (soakRows.length === 0) notRun(soakTarget, 'no soak in this run (--soak=0), or neither qilin nor qilin-rr in --soak-systems');
    else {
      const text = (r) => {
        const polled = r.soak.pollers ? ` (pollers ${r.soak.pollers.lost} of ${r.soak.pollers.polls.toLocaleString('en-US')} polls)` : ' (no pollers)';
        const short = r.soak.reloads < TARGETS.soakReloads ? `, fewer than ${TARGETS.soakReloads.toLocaleString('en-US')}` : '';
        const failed = r.soak.failedReloads ? `, ${r.soak.failedReloads} failed` : '';
        return `${r.name} ${r.soak.lost}${polled} over ${r.soak.reloads.toLocaleString('en-US')} reloads${short}${failed}`;
      };
      const clean = soakRows.every((r) => r.soak.lost === 0 && r.soak.failedReloads === 0 && (r.soak.pollers?.lost ?? 0) === 0 && r.soak.reloads >= TARGETS.soakReloads);
      list.push({
        target: soakTarget,
        detail: modes
          .filter((mode) => soakRows.some((r) => r.mode === mode))
          .map((mode) => `${mode}: ${soakRows.filter((r) => r.mode === mode).map(text).join('; ')}`)
          .join('; '),
        // Without pollers (--pollers=0) the target is not checked in full: not run, unless something was lost.
        pass: clean && soakRows.some((r) => !r.soak.pollers) ? null : clean,
      });
    }
  }

  // Upgrades of the primary under load (benchmarks/upgrade.mjs), where the run had them.
  if (results.upgrade) {
    const entries = Object.values(results.upgrade.modes ?? {});
    list.push({
      target: `0 lost requests over ${results.upgrade.config.upgrades} upgrades of the primary in each client mode (the qilin command)`,
      detail: entries.map((u) => `${u.mode}: ${u.lost} over ${u.upgrades}${u.failedUpgrades ? `, ${u.failedUpgrades} failed` : ''}`).join('; '),
      pass: entries.length > 0 && entries.every((u) => u.lost === 0 && u.failedUpgrades === 0 && u.upgrades === results.upgrade.config.upgrades),
    });
  }

  const control = (mode) => {
    const row = rowOf(mode, 'bare-loaded');
    return row?.steadyVsBare == null
      ? ''
      : `; the control, bare with qilin imported but unused: ${row.steadyVsBare.toFixed(3)}${row.steadyVsBareInterval ? ` (${range(row.steadyVsBareInterval)})` : ''}`;
  };
  const workersCpu = (row) => (row.cpuVsBare == null ? '' : `; workers' CPU per request ${row.cpuVsBare.toFixed(3)}× bare`);

  const close = rowOf('close', 'qilin');
  const closeBare = rowOf('close', 'bare');
  if (close && closeBare) {
    const none = rowOf('close', 'bare-none');
    const rr = rowOf('close', 'qilin-rr');
    const kernel = rowOf('close', 'qilin-kernel');
    list.push({
      target: `\`Connection: close\`: steady-state throughput at least ${TARGETS.closeVsBare}× bare node:cluster`,
      detail:
        `${vsText({ ratio: close.steadyVsBare, interval: close.steadyVsBareInterval, rounds: close.steadyRounds })}${workersCpu(close)}` +
        (none?.steadyVsBare == null ? '' : `; bare node:cluster with SCHED_NONE: ${none.steadyVsBare.toFixed(3)}`) +
        (kernel?.steadyVsBare == null ? '' : `; qilin-kernel: ${kernel.steadyVsBare.toFixed(3)}`) +
        (rr?.steadyVsBare == null ? '' : `; qilin-rr: ${rr.steadyVsBare.toFixed(3)}`) +
        control('close'),
      pass: close.steadyVsBare >= TARGETS.closeVsBare,
    });
  } else if (close) notRun(`\`Connection: close\`: steady-state throughput at least ${TARGETS.closeVsBare}× bare node:cluster`, 'bare not in this run');

  if (close?.steadyVsReuseport?.ratio != null) {
    const none = rowOf('close', 'bare-none');
    list.push({
      target: `\`Connection: close\`: steady-state throughput at least ${TARGETS.closeVsReuseport}× standalone processes on reusePort sockets (the limit)`,
      detail: `${vsText(close.steadyVsReuseport)}` + (none?.steadyVsReuseport?.ratio == null ? '' : `; bare node:cluster with SCHED_NONE: ${none.steadyVsReuseport.ratio.toFixed(3)}`),
      pass: close.steadyVsReuseport.ratio >= TARGETS.closeVsReuseport,
    });
  } else if (close) notRun(`\`Connection: close\`: steady-state throughput at least ${TARGETS.closeVsReuseport}× standalone processes on reusePort sockets (the limit)`, 'reuseport not in this run');

  const keepAlive = rowOf('keep-alive', 'qilin');
  if (keepAlive?.steadyVsBare != null && rowOf('keep-alive', 'bare')) {
    list.push({
      target: `keep-alive: steady-state throughput at least ${TARGETS.keepAliveVsBare}× bare node:cluster`,
      detail: `${vsText({ ratio: keepAlive.steadyVsBare, interval: keepAlive.steadyVsBareInterval, rounds: keepAlive.steadyRounds })}${workersCpu(keepAlive)}${control('keep-alive')}`,
      pass: keepAlive.steadyVsBare >= TARGETS.keepAliveVsBare,
    });
  }

  if (close) {
    const others = ['bare', 'bare-none', 'qilin-rr']
      .map((name) => rowOf('close', name))
      .filter((r) => r?.primaryCpuPerRequest != null)
      .map((r) => `${r.label} ${r.primaryCpuPerRequest.toFixed(2)}`);
    const soaked = close.soak?.primaryCpuUsPerRequest == null ? '' : `; over the soak, reloads included: ${close.soak.primaryCpuUsPerRequest.toFixed(2)} µs`;
    list.push({
      target: `qilin's primary CPU at most ${TARGETS.primaryCpuUs} µs per request under \`Connection: close\` load`,
      detail:
        close.primaryCpuPerRequest == null
          ? 'not measured (no /proc)'
          : `${close.primaryCpuPerRequest.toFixed(2)} µs over the steady slices${soaked}${others.length ? ` (${others.join(', ')})` : ''}`,
      pass: close.primaryCpuPerRequest == null ? null : close.primaryCpuPerRequest <= TARGETS.primaryCpuUs,
    });

    const soakTarget = `qilin's primary memory after the \`Connection: close\` soak at most ${TARGETS.soakVsIdle}× its own idle figure`;
    if (close.rssSoakVsIdle == null) notRun(soakTarget, 'no soak in this run (--soak=0) or qilin not in --soak-systems');
    else {
      const young = close.soak.youngBytes == null ? '' : ` (young generation at the end ${mib(close.soak.youngBytes, 0)})`;
      // The readings rise and fall with V8's collections, so the last one alone can land high or low.
      const lastHalf = (close.soak.samples ?? []).filter((sample) => sample.atSec >= close.soak.durationSec / 2).map((sample) => sample.rss);
      const range = lastHalf.length
        ? `; the soak's second half read ${(Math.min(...lastHalf) / close.rssIdle).toFixed(2)}× to ${(max(lastHalf) / close.rssIdle).toFixed(2)}×`
        : '';
      const othersText = ['qilin-not-lean', 'qilin-rr']
        .map((name) => rowOf('close', name))
        .filter((row) => row?.rssSoakVsIdle != null)
        .map((row) => `; ${row.name} ${mib(row.soak.rss)} / ${mib(row.rssIdle)} = ${row.rssSoakVsIdle.toFixed(2)}`)
        .join('');
      list.push({
        target: soakTarget,
        detail: `${mib(close.soak.rss)} after ${close.soak.durationSec} s and ${close.soak.reloads} reloads / ${mib(close.rssIdle)} idle = ${close.rssSoakVsIdle.toFixed(2)}${young}${range}${othersText}`,
        pass: close.rssSoakVsIdle <= TARGETS.soakVsIdle,
      });
    }
  }

  // Memory against a bare node:cluster primary that balances the same way: qilin (kernel) against bare with
  // SCHED_NONE, qilin-rr against bare (round-robin), whose primary holds every connection for a moment.
  const pairs = modes.flatMap((mode) =>
    [
      ['qilin', 'bare-none'],
      ['qilin-rr', 'bare'],
    ]
      .map(([name, base]) => ({ mode, row: rowOf(mode, name), base: rowOf(mode, base) }))
      .filter((p) => p.row && p.base),
  );
  const memoryTarget = `primary memory at most ${TARGETS.memoryRatio}× a bare node:cluster primary that balances the same way`;
  if (pairs.length === 0) notRun(memoryTarget, 'neither qilin with bare-none nor qilin-rr with bare in this run');
  else {
    const checked = (p) => {
      const soakRatio = ratio(p.row.soak?.rss, p.base.soak?.rss);
      const values = [ratio(p.row.rssIdle, p.base.rssIdle), ratio(p.row.rssSteady, p.base.rssSteady), soakRatio ?? ratio(p.row.rssAfterReloads, p.base.rssAfterReloads)];
      const words = ['idle', 'steady state', soakRatio == null ? 'right after the reloads' : `after the ${p.row.soak.durationSec} s soak`];
      return { values, text: `${p.row.name} vs ${p.base.name} ${values.map((v, i) => `${v == null ? 'n/a' : v.toFixed(2)} ${words[i]}`).join(', ')}` };
    };
    list.push({
      target: memoryTarget,
      detail: modes
        .map((mode) => `${mode}: ${pairs.filter((p) => p.mode === mode).map((p) => checked(p).text).join('; ')}`)
        .join('; '),
      // Where the soak ran for both, it stands for the memory after reloads: the reading right after the 20
      // reloads may catch a round-robin primary before its young generation has grown (benchmarks/README.md).
      pass: pairs.every((p) => checked(p).values.every((v) => v === null || v <= TARGETS.memoryRatio)),
    });
  }

  const qilinRuns = modes.map((mode) => results.runs.find((r) => r.name === 'qilin' && r.mode === mode)).filter(Boolean);
  const cold = median(modes.map((mode) => rowOf(mode, 'qilin')?.coldStartMs));
  const idle = median(qilinRuns.flatMap((run) => (run.idleReloads ?? []).map((r) => r.durationMs)));
  const loaded = median(qilinRuns.flatMap((run) => (run.reloads ?? []).map((r) => r.durationMs)));
  if (cold && idle) {
    list.push({
      target: `a reload of 2 workers completes in under ${TARGETS.reloadVsColdStart} times their cold start`,
      detail:
        `reload ${idle.toFixed(0)} ms (median, no load) / cold start ${cold.toFixed(0)} ms (median) = ${(idle / cold).toFixed(2)}` +
        (loaded ? `; under load the median reload takes ${loaded.toFixed(0)} ms (${(loaded / cold).toFixed(2)} times the unloaded cold start)` : ''),
      pass: idle / cold < TARGETS.reloadVsColdStart,
    });
  }

  const settle = results.config.spreadSettleSec ?? 0;
  const steadyWindow = settle > 0 ? ` (${results.config.spreadSec} s, from ${settle} s after the pool opened)` : '';
  const spreadTarget = `busiest worker at most ${TARGETS.spreadRatio}× the idlest one's requests over a steady window${steadyWindow}, per worker count and client mode`;
  const spread = spreadCases(results).filter((c) => c.name === 'qilin');
  if (spread.length === 0) notRun(spreadTarget, 'no spread phase for qilin in this run (--spread=0)');
  else {
    list.push({
      target: spreadTarget,
      detail: spread
        .map(
          (c) =>
            `${c.workers} workers, ${c.mode}: ${times(c.busiestVsIdlest)}${c.mode === 'keep-alive' ? ` (connections per worker ${c.connectionsRange.join('-')}${c.wholeVsIdlest === null ? '' : `; from the pool's opening ${times(c.wholeVsIdlest)}`})` : ''}`,
        )
        .join('; '),
      pass: spread.every((c) => c.busiestVsIdlest !== null && c.busiestVsIdlest <= TARGETS.spreadRatio),
    });
  }
  return list;
}
