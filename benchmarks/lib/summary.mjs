// Turns raw runs into the figures the report shows: per system and mode, and the issue's targets.
import { lostOf, max, median, medianInterval, mib, pairedRatios, quantile, ratio, throughputOf } from './util.mjs';

const TARGETS = { steadyRatio: 0.97, memoryRatio: 1.2, reloadVsColdStart: 1.5 };

/** The figures of one run (one system in one client mode). */
export function figures(run) {
  const reloadMs = run.reloads.map((r) => r.durationMs);
  return {
    name: run.name,
    label: run.label,
    mode: run.mode,
    lost: lostOf(run.reloadPhase),
    failures: run.reloadPhase.failures,
    reloads: run.reloads.length,
    failedReloads: run.reloads.filter((r) => r.error).length,
    steadyRps: run.steady.rps,
    steadySlices: (run.steadyRounds ?? []).map(throughputOf),
    cpuSlices: (run.steadyRounds ?? []).map((r) => r.workerCpuUsPerRequest ?? null),
    reloadRps: throughputOf(run.reloadPhase),
    steadyP99: run.steady.p99,
    reloadP99: run.reloadPhase.latencyMs.p99,
    reloadMax: run.reloadPhase.latencyMs.max,
    reloadMedianMs: median(reloadMs),
    reloadMaxMs: max(reloadMs),
    idleReloadMedianMs: median(run.idleReloads.map((r) => r.durationMs)),
    coldStartMs: run.coldStartMs,
    rssIdle: run.rssIdle ?? null,
    rssSteady: run.rssSteady,
    rssAfterReloads: run.rssAfterReloads,
    youngAfterReloads: run.youngAfterReloads ?? null,
    soak: run.soak ?? null,
  };
}

/** Figures for every run, grouped by mode, with ratios against bare node:cluster of the same mode. */
export function summarize(results) {
  const modes = [...new Set(results.runs.map((r) => r.mode))];
  return modes.map((mode) => {
    const rows = results.runs.filter((r) => r.mode === mode).map(figures);
    const bare = rows.find((r) => r.name === 'bare');
    for (const row of rows) {
      // The median of slice-by-slice ratios, with the middle half of them as the spread. Slice i of every
      // system is from round i; the systems the target compares have more rounds than the others (run.mjs).
      const sameRounds = (slices) => slices?.slice(0, row.steadySlices.length);
      const paired = pairedRatios(row.steadySlices, sameRounds(bare?.steadySlices));
      row.steadyRounds = paired.length;
      row.steadyVsBare = paired.length > 0 ? median(paired) : ratio(row.steadyRps, bare?.steadyRps);
      row.steadyVsBareSpread = paired.length > 0 ? [quantile(paired, 0.25), quantile(paired, 0.75)] : null;
      row.steadyVsBareInterval = paired.length > 0 ? medianInterval(paired) : null;
      row.cpuPerRequest = median(row.cpuSlices);
      const cpuPaired = pairedRatios(row.cpuSlices, sameRounds(bare?.cpuSlices));
      row.cpuVsBare = cpuPaired.length > 0 ? median(cpuPaired) : null;
      row.cpuVsBareSpread = cpuPaired.length > 0 ? [quantile(cpuPaired, 0.25), quantile(cpuPaired, 0.75)] : null;
      row.reloadVsSteady = ratio(row.reloadRps, row.steadyRps);
      row.p99VsSteady = ratio(row.reloadP99, row.steadyP99);
      row.rssIdleVsBare = ratio(row.rssIdle, bare?.rssIdle);
      row.rssVsBare = ratio(row.rssSteady, bare?.rssSteady);
      row.rssAfterVsBare = ratio(row.rssAfterReloads, bare?.rssAfterReloads);
      row.rssSoakVsBare = ratio(row.soak?.rss, bare?.soak?.rss);
    }
    return { mode, rows };
  });
}

/** The issue's targets, checked for qilin (default options) in this run. Null where a run is missing. */
export function targets(results) {
  const groups = summarize(results);
  const rowOf = (g, name) => g.rows.find((r) => r.name === name);
  // `control` is bare node:cluster with qilin imported but unused (benchmarks/README.md): the run's noise and memory baseline.
  // `smallYoung` is qilin with its primary's young generation capped (docs/deploying.md): shown next to the memory target, not checked.
  const qilin = groups.map((g) => ({
    mode: g.mode,
    row: rowOf(g, 'qilin'),
    bare: rowOf(g, 'bare'),
    rolling: rowOf(g, 'qilin-rolling'),
    control: rowOf(g, 'bare-loaded'),
    smallYoung: rowOf(g, 'qilin-small-young'),
  }));
  const have = qilin.filter((q) => q.row);
  if (have.length === 0) return [];
  const list = [];

  list.push({
    target: `0 lost requests over ${results.config.reloads} reloads in both client modes`,
    detail: have.map((q) => `${q.mode}: ${q.row.lost}${q.rolling ? ` (rolling: ${q.rolling.lost})` : ''}`).join('; '),
    pass: have.every((q) => q.row.lost === 0 && q.row.failedReloads === 0),
  });

  const steady = have.filter((q) => q.row.steadyVsBare !== null);
  if (steady.length) {
    list.push({
      target: `steady-state throughput at least ${TARGETS.steadyRatio} of bare node:cluster`,
      detail: steady
        .map((q) => {
          const range = (pair) => pair.map((v) => v.toFixed(3)).join('-');
          const spread = q.row.steadyVsBareInterval
            ? ` over ${q.row.steadyRounds} rounds (95% interval ${range(q.row.steadyVsBareInterval)})`
            : '';
          const cpu = q.row.cpuVsBare === null ? '' : `; workers' CPU per request ${q.row.cpuVsBare.toFixed(3)}× bare`;
          // The control serves from the very same workers as bare: how far it lands from 1 is the run's noise.
          const noise =
            q.control?.steadyVsBare == null
              ? ''
              : `; the control, bare with qilin imported but unused: ${q.control.steadyVsBare.toFixed(3)}${q.control.steadyVsBareInterval ? ` (${range(q.control.steadyVsBareInterval)})` : ''}`;
          return `${q.mode}: ${q.row.steadyVsBare.toFixed(3)}${spread}${cpu}${noise}`;
        })
        .join('; '),
      pass: steady.every((q) => q.row.steadyVsBare >= TARGETS.steadyRatio),
    });
  }

  const memory = have.filter((q) => q.row.rssVsBare !== null);
  if (memory.length) {
    const ratios = (row) =>
      `${row.rssIdleVsBare === null ? '' : `${row.rssIdleVsBare.toFixed(2)} idle, `}${row.rssVsBare.toFixed(2)} at steady state, ${row.rssAfterVsBare.toFixed(2)} right after the reloads`;
    const soaked = (row) =>
      row.rssSoakVsBare === null ? '' : `, ${row.rssSoakVsBare.toFixed(2)} after ${row.soak.durationSec} s of load and ${row.soak.reloads} reloads`;
    // Whether the two primaries compared after the soak had grown their young generations as far (run.mjs, soak).
    const young = (q) =>
      q.row.soak?.youngBytes == null || q.bare?.soak?.youngBytes == null
        ? ''
        : ` (young generation at the end: qilin ${mib(q.row.soak.youngBytes, 0)}, bare ${mib(q.bare.soak.youngBytes, 0)})`;
    list.push({
      target: `primary memory at most ${TARGETS.memoryRatio} times a bare node:cluster primary`,
      detail: memory
        .map((q) => {
          const controlText = q.control?.rssVsBare == null ? '' : ` (bare node:cluster with qilin imported but unused: ${ratios(q.control)})`;
          const smallYoungText =
            q.smallYoung?.rssVsBare == null ? '' : `; qilin with its primary run with --max-semi-space-size=1: ${ratios(q.smallYoung)}${soaked(q.smallYoung)}`;
          return `${q.mode}: ${ratios(q.row)}${soaked(q.row)}${young(q)}${controlText}${smallYoungText}`;
        })
        .join('; '),
      // Where the soak ran, it stands for the memory after reloads: the reading right after the 20 reloads
      // may catch bare node:cluster before its heap has grown (benchmarks/README.md, Primary RSS).
      pass: memory.every((q) =>
        [q.row.rssIdleVsBare, q.row.rssVsBare, q.row.rssSoakVsBare ?? q.row.rssAfterVsBare].every((v) => v === null || v <= TARGETS.memoryRatio),
      ),
    });
  }

  const cold = median(have.map((q) => q.row.coldStartMs));
  const idle = median(have.flatMap((q) => results.runs.find((r) => r.name === 'qilin' && r.mode === q.mode).idleReloads.map((r) => r.durationMs)));
  const loaded = median(have.flatMap((q) => results.runs.find((r) => r.name === 'qilin' && r.mode === q.mode).reloads.map((r) => r.durationMs)));
  if (cold && idle) {
    list.push({
      target: `a reload of 2 workers completes in under ${TARGETS.reloadVsColdStart} times their cold start`,
      detail:
        `reload ${idle.toFixed(0)} ms (median, no load) / cold start ${cold.toFixed(0)} ms (median) = ${(idle / cold).toFixed(2)}` +
        (loaded ? `; under load the median reload takes ${loaded.toFixed(0)} ms (${(loaded / cold).toFixed(2)} times the unloaded cold start)` : ''),
      pass: idle / cold < TARGETS.reloadVsColdStart,
    });
  }
  return list;
}
