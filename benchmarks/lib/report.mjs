// Writes docs/benchmarks.md from a run's results: machine, date, command, targets, one table per client mode, the spread across workers, the chart.
import { spreadCases, summarize, targets } from './summary.mjs';

const MODE_TITLES = { 'keep-alive': 'Keep-alive clients', close: 'A new connection per request (`Connection: close`)' };

const int = (v) => (v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const ms = (v) => (v === null || v === undefined ? 'n/a' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const x = (v, digits = 2) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(digits)}×`);
const mb = (v) => (v === null || v === undefined ? 'n/a' : (v / 2 ** 20).toFixed(1));

const BALANCE = { kernel: 'workers accept (kernel)', 'round-robin': 'primary hands over (round-robin)', reuseport: 'own sockets (reusePort)' };

function lostCell(row) {
  if (row.noReload) return 'no reload';
  const kinds = Object.entries(row.failures)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${{ noResponse: 'no response', non2xx: 'non-2xx', timeout: 'timed out', hung: 'hung' }[kind]}`);
  const text = row.lost === 0 ? '**0**' : `**${int(row.lost)}** (${kinds.join(', ')})`;
  return row.failedReloads ? `${text}; ${row.failedReloads} reloads failed` : text;
}

function primaryCpuCell(soak) {
  if (!soak) return 'not run';
  if (soak.primaryCpuMs == null) return 'n/a';
  const perRequest = soak.primaryCpuUsPerRequest == null ? '' : ` (${soak.primaryCpuUsPerRequest.toFixed(2)})`;
  return `${(soak.primaryCpuMs / 1000).toFixed(1)}${perRequest}`;
}

/** How many steady rounds each system had, where the systems the target compares had more (run.mjs). */
function focusText(config) {
  const focus = (config.focus ?? []).filter((name) => config.systems.includes(name));
  if (!config.focusRounds || focus.length < 2) return '';
  const total = config.rounds + config.focusRounds;
  return ` ${focus.join(', ')} had ${config.focusRounds} more rounds among themselves, ${total} in all, so the
steady-state targets rest on ${total} paired ratios; its 95% interval is a bootstrap interval of their median.`;
}

const POLL_KINDS = { reset: 'reset', closed: 'closed under it', refused: 'refused', non2xx: 'non-2xx', timeout: 'timed out', other: 'other' };

/** The pollers of a soak: lost of all polls, by kind, and how many went on a kept-alive connection. */
function pollersCell(soak) {
  if (!soak) return 'not run';
  const p = soak.pollers;
  if (!p) return 'no pollers';
  const kinds = Object.entries(p.failures)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${int(n)} ${POLL_KINDS[kind] ?? kind}`);
  return `**${int(p.lost)}** of ${int(p.polls)} (${kinds.length ? `${kinds.join(', ')}; ` : ''}${int(p.reused)} kept alive)`;
}

/** Per wait of the pollers: lost of polls, kept-alive polls, and closes by the server between two polls. */
function bandsCell(soak) {
  if (!soak) return 'not run';
  if (!soak.pollers) return 'no pollers';
  return soak.pollers.bands.map((b) => `${b.waitMs} ms: ${int(b.polls - b.ok)} / ${int(b.polls)} (${int(b.reused)}; ${int(b.closedWhileIdle)})`).join('; ');
}

/**
 * The upgrade rows (benchmarks/upgrade.mjs): the `qilin` command's upgrades of its primary under the same
 * load, in the qilin column; the others have no such thing.
 */
function upgradeLines(group, results, line) {
  const upgrade = results.upgrade?.modes?.[group.mode];
  if (!upgrade) return [];
  const only = (cell) => (r) => (r.name === 'qilin' ? cell : 'n/a');
  const lost = `**${int(upgrade.lost)}**${upgrade.failedUpgrades ? `; ${upgrade.failedUpgrades} upgrades failed` : ''}`;
  return [
    line(`Lost requests over ${upgrade.upgrades} upgrades of the primary (the qilin command, SIGUSR1)`, only(lost)),
    line('Upgrade time under load, to the new primary serving, median / max (ms)', only(`${ms(upgrade.upgradeMs.median)} / ${ms(upgrade.upgradeMs.max)}`)),
  ];
}

function table(group, results) {
  const { rows } = group;
  // Soaks of runs from before the soak ran in every mode with pollers have no `pollers` key (null with --pollers=0).
  const newSoak = rows.some((r) => r.soak && 'pollers' in r.soak);
  const head = `| | ${rows.map((r) => r.label).join(' | ')} |\n|---|${rows.map(() => '---:').join('|')}|`;
  const line = (label, cell) => `| ${label} | ${rows.map(cell).join(' | ')} |`;
  // Reload figures: none for a system that has no reload (reuseport).
  const reloadLine = (label, cell) => line(label, (r) => (r.noReload ? 'no reload' : cell(r)));
  const vsCell = (vs) => (vs?.spread ? `${x(vs.ratio, 3)} (${vs.spread.map((v) => v.toFixed(2)).join('-')})` : x(vs?.ratio, 3));
  const hasReuseport = rows.some((r) => r.name === 'reuseport');
  return [
    head,
    ...(rows.some((r) => r.balance) ? [line('How connections reach the workers', (r) => BALANCE[r.balance] ?? r.balance ?? 'n/a')] : []),
    line(`Lost requests over ${results.config.reloads} reloads`, lostCell),
    reloadLine('Lost per reload', (r) => (r.reloads ? (r.lost / r.reloads).toFixed(1) : 'n/a')),
    ...upgradeLines(group, results, line),
    line('Steady-state throughput (req/s), median (slowest-fastest slice; slices)', (r) =>
      r.steadySlices.length
        ? `${int(r.steadyRps)} (${int(Math.min(...r.steadySlices))}-${int(Math.max(...r.steadySlices))}; ${r.steadySlices.length})`
        : int(r.steadyRps),
    ),
    line('Steady state vs bare node:cluster, median of the rounds (middle half)', (r) =>
      r.steadyVsBareSpread ? `${x(r.steadyVsBare, 3)} (${r.steadyVsBareSpread.map((v) => v.toFixed(2)).join('-')})` : x(r.steadyVsBare, 3),
    ),
    ...(hasReuseport ? [line('Steady state vs standalone processes on reusePort, median of the rounds (middle half)', (r) => vsCell(r.steadyVsReuseport))] : []),
    line('Workers\' CPU per request, steady state (µs)', (r) => (r.cpuPerRequest === null ? 'n/a' : r.cpuPerRequest.toFixed(2))),
    line('Workers\' CPU per request vs bare, median of the rounds (middle half)', (r) =>
      r.cpuVsBareSpread ? `${x(r.cpuVsBare, 3)} (${r.cpuVsBareSpread.map((v) => v.toFixed(2)).join('-')})` : x(r.cpuVsBare, 3),
    ),
    line("Primary's CPU per request, steady state, all slices together (µs)", (r) => (r.primaryCpuPerRequest == null ? 'n/a' : r.primaryCpuPerRequest.toFixed(2))),
    reloadLine('Throughput during reloads (req/s)', (r) => `${int(r.reloadRps)} (${x(r.reloadVsSteady)} steady)`),
    line('p99 latency, steady state (ms)', (r) => ms(r.steadyP99)),
    reloadLine('p99 latency during reloads (ms)', (r) => `${ms(r.reloadP99)} (${x(r.p99VsSteady, 1)} steady)`),
    reloadLine('Max latency during reloads (ms)', (r) => ms(r.reloadMax)),
    reloadLine('Reload time under load, median / max (ms)', (r) => `${ms(r.reloadMedianMs)} / ${ms(r.reloadMaxMs)}`),
    reloadLine('Reload time without load, median (ms)', (r) => ms(r.idleReloadMedianMs)),
    line('Cold start of 2 workers, median (ms)', (r) => ms(r.coldStartMedianMs)),
    line('Primary RSS, idle / steady / after reloads (MiB)', (r) => `${mb(r.rssIdle)} / ${mb(r.rssSteady)} / ${mb(r.rssAfterReloads)}`),
    line('Primary RSS vs bare node:cluster', (r) => `${x(r.rssIdleVsBare)} / ${x(r.rssVsBare)} / ${x(r.rssAfterVsBare)}`),
    ...(rows.some((r) => r.soak)
      ? [
          ...(newSoak
            ? [
                line('Soak: reloads, in how long (s); reload time, median / max (ms)', (r) =>
                  r.soak ? `${int(r.soak.reloads)} in ${int(r.soak.durationSec)}; ${ms(r.soak.reloadMs?.median)} / ${ms(r.soak.reloadMs?.max)}` : 'not run',
                ),
              ]
            : []),
          line(newSoak ? 'Primary RSS after the soak (MiB; vs bare; vs its own idle)' : `Primary RSS after ${results.config.soakSec} s more of load and reloads (MiB; vs bare; vs its own idle)`, (r) =>
            r.soak ? `${mb(r.soak.rss)} (${x(r.rssSoakVsBare)}; ${x(r.rssSoakVsIdle)})` : 'not run',
          ),
          ...(rows.some((r) => r.soak?.youngBytes != null)
            ? [
                line("Primary's young generation (V8's new space) right after the reloads / at the end of the soak (MiB)", (r) =>
                  r.soak ? `${mb(r.youngAfterReloads)} / ${mb(r.soak.youngBytes)}` : 'not run',
                ),
              ]
            : []),
          line(newSoak ? `Lost requests during that soak, ${results.machine.loadTool.split(' ')[0]}'s` : 'Lost requests during that soak', (r) => {
            if (!r.soak) return 'not run';
            // Runs before the soak kept its failures by kind have only the total.
            const lost = r.soak.failures ? lostCell({ ...r.soak, failedReloads: 0 }) : `**${int(r.soak.lost)}**`;
            return `${lost} over ${r.soak.reloads} reloads${r.soak.failedReloads ? `; ${r.soak.failedReloads} reloads failed` : ''}`;
          }),
          ...(newSoak
            ? [
                line('Lost polls during that soak, of all polls (by kind; on a kept-alive connection)', (r) => pollersCell(r.soak)),
                line('Polls by wait: lost / polls (on a kept-alive connection; server closed it while idle)', (r) => bandsCell(r.soak)),
              ]
            : []),
          ...(rows.some((r) => r.soak?.primaryCpuMs != null)
            ? [line('Primary CPU during that soak (s; µs per request)', (r) => primaryCpuCell(r.soak))]
            : []),
        ]
      : []),
  ].join('\n');
}

/** The soak (step 6): what ran, and every failed poll placed against the reloads. Only for runs with pollers. */
function soakSection(results) {
  const { config } = results;
  const soaks = results.runs.filter((r) => r.soak && 'pollers' in r.soak);
  if (soaks.length === 0) return '';
  const names = (list) => list.map((name) => `\`${name}\``).join(', ');
  const every = config.soakSystems.filter((name) => soaks.some((r) => r.name === name));
  const closeOnly = config.soakCloseSystems.filter((name) => soaks.some((r) => r.name === name) && !every.includes(name));
  const failed = soaks.flatMap((r) => (r.soak.pollers?.failed ?? []).map((f) => ({ ...f, label: r.label, mode: r.mode })));
  const shown = failed.slice(0, 40);
  const poll = (f) =>
    `| ${f.label}, ${f.mode} | ${f.atSec.toFixed(1)} | ${POLL_KINDS[f.kind] ?? f.kind} (${f.code ?? f.status}) | ${f.waitMs} | ${f.reused ? `kept alive, idle ${ms(f.idleMs)}` : 'new'} | ${f.fromReloadMs} (${f.reloadMs}) | ${f.sinceReloadDoneMs ?? 'n/a'} |`;
  const pollers =
    config.pollers > 0
      ? `\nBeside the load, ${config.pollers} pollers each hold one keep-alive connection: each sends a request, waits, and sends the next on
the same connection (on a new one only once the server has closed it or announced \`Connection: close\`), and never
retries. Their waits, ${config.pollerWaitsMs.map((w) => `${w} ms`).join(', ')}, each drawn within ±5%, land on the boundaries of a kept-alive
connection: a draining worker's grace for idle ones and the app's keep-alive timeout
([benchmarks/README.md](../benchmarks/README.md) says which wait is which).`
      : '\nNo pollers ran (--pollers=0).';
  const table = shown.length
    ? `

Every failed poll: when (s into the soak), how, its wait (ms), its connection, ms from the nearest reload's start
(that reload's duration) and ms since the last reload completed, when the workers before it were told to retire.

| Soak | at (s) | kind | wait | connection | from reload (its duration) | since reload completed |
|---|---:|---|---:|---|---:|---:|
${shown.map(poll).join('\n')}${failed.length > shown.length ? `\n\n${failed.length - shown.length} more in the results file.` : ''}`
    : '';
  const closeText = closeOnly.length ? `, and ${names(closeOnly)} with \`Connection: close\` only (the memory target's baseline)` : '';
  return `## Soak

${names(every)} in each client mode${closeText}, each under load until ${int(config.soakReloads)} reloads or ${config.soakSec} s,
whichever came first, with a reload ${config.soakGapMs} ms after the previous one completed.${pollers}${table}
`;
}

/** How the spread's window sits in its pool of load: after the pool's first seconds, or from its opening (results of runs before `--spread-settle`). */
function settleText(config) {
  const settle = config.spreadSettleSec ?? 0;
  if (settle === 0) return '';
  return `, from ${settle} s after the pool of connections opened: one pool of ${settle + config.spreadSec} s per case, so a keep-alive pool has settled
where it will stay (the ratio over the whole pool, its opening included, is given beside it)`;
}

/** The spread phase: per system, busiest/idlest worker and throughput, for each worker count and client mode. */
function spreadSection(results) {
  const cases = spreadCases(results);
  if (cases.length === 0) return '';
  const columns = [...new Map(cases.map((c) => [`${c.workers} ${c.mode}`, { workers: c.workers, mode: c.mode }])).values()];
  const names = [...new Set(cases.map((c) => c.name))];
  const head = `| | ${columns.map((c) => `${c.mode}, ${c.workers} workers`).join(' | ')} |\n|---|${columns.map(() => '---:').join('|')}|`;
  const cell = (c) => {
    if (!c) return 'not run';
    const ratioText = c.busiestVsIdlest === Infinity ? '**∞** (a worker served none)' : `**${x(c.busiestVsIdlest)}**`;
    const connections = c.mode === 'keep-alive' ? `; ${c.connectionsRange.join('-')} connections per worker` : '';
    const whole = c.wholeVsIdlest === null ? '' : `; from the pool's opening ${c.wholeVsIdlest === Infinity ? '∞' : x(c.wholeVsIdlest)}`;
    const lost = c.lost ? `; ${int(c.lost)} lost` : '';
    return `${ratioText} (${int(c.rps)} req/s${connections}${whole}${lost})`;
  };
  const rows = names.map((name) => {
    const label = cases.find((c) => c.name === name).label;
    return `| ${label} | ${columns.map((col) => cell(cases.find((c) => c.name === name && c.workers === col.workers && c.mode === col.mode))).join(' | ')} |`;
  });
  return `## Spread across workers

Busiest worker's requests over the idlest one's, over one ${results.config.spreadSec} s window of steady load per case (${results.config.connections}
connections, no reload)${settleText(results.config)}, counted per serving process from the pid in the app's body; beside it, the throughput and,
with keep-alive, the fewest and most connections one worker held. A keep-alive connection stays on the worker it
landed on, so with keep-alive the spread is that of the connections: what users of that system see. Every case
starts its system anew with that many workers; one window per case, so take the figures of 4 and 8 workers on
${results.machine.cores} cores as what happened once, not as a median.

${head}
${rows.join('\n')}
`;
}

export function writeReport(results) {
  const { machine, config } = results;
  const groups = summarize(results);
  for (const group of groups) {
    for (const row of group.rows) row.coldStartMedianMs = results.coldStarts?.[row.name]?.medianMs ?? row.coldStartMs;
  }
  const date = results.startedAt.slice(0, 10);
  const load = (l) => l.map((v) => v.toFixed(2)).join(', ');
  const targetRows = targets(results).map((t) => `| ${t.target} | ${t.detail} | ${t.pass === null ? 'not run' : t.pass ? '**pass**' : '**FAIL**'} |`);
  const reuseport = results.runs.some((r) => r.name === 'reuseport');

  return `# Benchmark: reloads under load

Qilin against bare node:cluster, recluster 1.0.0 and PM2 7, in one run. Each system runs 2 workers of the same
app, \`http.createServer((req, res) => res.end(body)).listen(PORT)\` whose \`body\` is \`hello <pid>\`
(the pid tells which worker answered), and is reloaded ${config.reloads} times under load, once about every
${(config.gapMs / 1000).toFixed(1)} s after the previous reload completed.${
    reuseport
      ? ` Standalone processes on reusePort sockets, the limit of what the kernel alone gives, have no reload: they
are in the steady state and the spread across workers only.`
      : ''
  }
How the scenario runs and what every number means: [benchmarks/README.md](../benchmarks/README.md).
Measurements run on their own after this run (later commits, one system or phase at a time): [benchmarks-runs.md](benchmarks-runs.md).

- **Date:** ${date} (${results.startedAt} to ${results.finishedAt}, ${Math.round(results.durationSec)} s)
- **Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB; ${machine.os}; Node ${machine.node}
- **Load generator:** ${machine.loadTool}, ${config.connections} connections (one thread each), ${config.timeoutSec} s timeout, on the same ${machine.cores} cores as the systems under test
- **Load average** (1, 5, 15 min): ${load(machine.loadAverage.atStart)} at the start, ${load(machine.loadAverage.atEnd)} at the end
- **Command:** \`${results.command}\`${results.fullScenario ? '' : ' (not the default scenario)'}${
    results.upgrade?.command ? `; the upgrade step then, on its own: \`${results.upgrade.command}\` (${results.upgrade.startedAt.slice(0, 16).replace('T', ' ')} UTC, Node ${results.upgrade.node})` : ''
  }

The load generator competes with the workers for the same cores, so absolute requests per second say more about
this machine than about any system; compare the ratios, which come from one run on one machine.

## Targets

Checked for \`qilin\` with default options (on Linux \`balance: 'reuseport'\`, a socket per slot), and \`qilin-rr\` (\`balance: 'round-robin'\`) where named.

| Target | Measured | |
|---|---|---|
${targetRows.join('\n')}

${groups.map((g) => `## ${MODE_TITLES[g.mode] ?? g.mode}\n\n${table(g, results)}`).join('\n\n')}

Lost requests: *no response* is a request whose connection was reset, closed or refused under it; *hung* is a
request still unanswered at the end of the reload phase, for more than ${config.timeoutSec} s, on a connection the
server kept open; *timed out* is a response that came after ${config.timeoutSec} s. The steady-state slices show how
much the throughput moved during the run: ratios within that spread are not a difference.${focusText(config)}

PM2's primary is its daemon (\`pm2 reload\` is sent to it by PM2's API), so its memory row reads the daemon. Its
cold start is from \`pm2 start\` until the port answers, with the daemon already running.${
    reuseport ? ' Standalone processes on reusePort sockets have no primary: their memory and primary CPU rows are n/a.' : ''
  }

${[soakSection(results), spreadSection(results)].filter(Boolean).join('\n')}
## Over time

Latency (the slowest response in each ${config.bucketMs} ms) and failed requests during the reloads; each shaded band
is one reload, from its start until the system reported it complete.

![Latency and failed requests over time during ${config.reloads} reloads, per system and client mode](benchmarks-reload.svg)
`;
}
