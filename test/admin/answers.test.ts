// The admin answers built from a cluster snapshot: units, uptimes, readiness, CPU between measurements, and the `qilin status` table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildInfo, buildReady, megabytes, notReadyReason, splitUptime } from '../../src/admin/answers.js';
import { formatUptime, renderStatus, responseRates } from '../../src/cli/status-table.js';
import { cpuPercent } from '../../src/admin/usage.js';
import type { WorkerInfo } from '../../src/cluster.js';

const MB = 1_048_576;

function worker(slot: number, pid: number, extra: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    slot,
    id: pid,
    pid,
    generation: 1,
    state: 'ready',
    active: true,
    startedAt: 1_000_000,
    readyAt: 1_000_100,
    rss: null,
    restarts: 0,
    accepting: true,
    ...extra,
  };
}

describe('units', { timeout: 5_000 }, () => {
  test('uptime in days, hours, minutes and seconds', () => {
    assert.deepEqual(splitUptime(0), { days: 0, hours: 0, minutes: 0, seconds: 0 });
    assert.deepEqual(splitUptime(90_061.9), { days: 1, hours: 1, minutes: 1, seconds: 1 });
    assert.deepEqual(splitUptime(3_599), { days: 0, hours: 0, minutes: 59, seconds: 59 });
    assert.deepEqual(splitUptime(-5), { days: 0, hours: 0, minutes: 0, seconds: 0 });
  });

  test('memory in MB of 2^20 bytes, to one decimal', () => {
    assert.equal(megabytes(MB), 1);
    assert.equal(megabytes(1.25 * MB), 1.3);
    assert.equal(megabytes(0), 0);
  });

  test('CPU is the share of one core between two readings, or over the process’s life the first time', () => {
    const first = { ctime: 500, elapsed: 1_000, timestamp: 10_000, memory: 0 };
    assert.equal(cpuPercent(undefined, first), 50);
    assert.equal(cpuPercent(first, { ctime: 750, elapsed: 2_000, timestamp: 11_000, memory: 0 }), 25);
    assert.equal(cpuPercent(first, { ctime: 2_500, elapsed: 2_000, timestamp: 11_000, memory: 0 }), 200, 'two busy cores');
    // The pid now belongs to a younger process: its own life is all there is.
    assert.equal(cpuPercent(first, { ctime: 10, elapsed: 100, timestamp: 11_000, memory: 0 }), 10);
  });
});

describe('buildInfo', { timeout: 5_000 }, () => {
  const info = buildInfo({
    now: 1_000_000 + 3_725_000,
    primary: { pid: 10, uptimeSeconds: 90_061.5 },
    workers: [worker(1, 12, { restarts: 2 }), worker(0, 11), worker(0, 13, { generation: 2, state: 'starting', active: false, startedAt: 4_724_000 })],
    usage: new Map([
      [10, { cpu: 1.26, memory: 50 * MB }],
      [11, { cpu: 10, memory: 40 * MB }],
      [12, { cpu: 20.04, memory: 41.5 * MB }],
    ]),
    responses: new Map([
      [11, { responses: 1_200, errors: 3, connections: 17 }],
      [12, { responses: 1_150, errors: 0, connections: null }],
    ]),
    generation: 1,
    active: [{}, {}],
    reloading: { generation: 2, startedAt: 4_720_000 },
  });

  test('the primary: pid, CPU %, MB, uptime both ways', () => {
    assert.deepEqual(info.master, { pid: 10, cpu: 1.3, mem: 50, uptime: { days: 1, hours: 1, minutes: 1, seconds: 1 }, uptimeSeconds: 90_061 });
  });

  test('workers by slot then generation, with their own uptime and restarts; unmeasured values are null', () => {
    assert.deepEqual(
      info.workers.map((w) => [w.slot, w.pid, w.generation, w.state, w.cpu, w.mem, w.uptimeSeconds, w.restarts, w.responses, w.errors, w.connections]),
      [
        [0, 11, 1, 'ready', 10, 40, 3_725, 0, 1_200, 3, 17],
        [0, 13, 2, 'starting', null, null, 1, 0, null, null, null],
        // A runtime that counts responses but not connections.
        [1, 12, 1, 'ready', 20, 41.5, 3_725, 2, 1_150, 0, null],
      ],
    );
    assert.deepEqual(info.workers[0]?.uptime, { days: 0, hours: 1, minutes: 2, seconds: 5 });
  });

  test('totals over every process measured, and the cluster’s state', () => {
    assert.deepEqual(info.total, { cpu: 31.3, mem: 131.5 });
    assert.deepEqual(info.cluster, { generation: 1, slots: 2, readySlots: 2, reloading: { generation: 2, seconds: 5 } });
  });

  test('the status table shows every worker, empty slots and the totals', () => {
    const text = renderStatus({ ...info, cluster: { ...info.cluster, slots: 3 } });
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^primary pid 10, CPU 1\.3%, memory 50\.0 MB, up 1d 1h, generation 1, 2\/3 slots ready$/);
    assert.match(text, /reloading to generation 2 for 5s/);
    const header = lines.findIndex((l) => l.startsWith('SLOT'));
    assert.deepEqual(lines[header]?.split(/\s{2,}/), ['SLOT', 'PID', 'STATE', 'GEN', 'CPU', 'MEMORY', 'UPTIME', 'RESTARTS', 'RESPONSES', '5XX', 'CONNS']);
    assert.deepEqual(lines[header + 1]?.split(/\s{2,}/), ['0', '11', 'ready', '1', '10.0%', '40.0 MB', '1h 2m', '0', '1200', '3', '17']);
    assert.deepEqual(lines[header + 2]?.split(/\s{2,}/), ['0', '13', 'starting', '2', '-', '-', '1s', '0', '-', '-', '-']);
    assert.deepEqual(lines[header + 3]?.split(/\s{2,}/), ['1', '12', 'ready', '1', '20.0%', '41.5 MB', '1h 2m', '2', '1150', '0', '-']);
    assert.deepEqual(lines[header + 4]?.split(/\s{2,}/), ['2', '-', 'empty', '-', '-', '-', '-', '-', '-', '-', '-']);
    assert.match(text, /total CPU 31\.3%, memory 131\.5 MB\n$/);
  });

  test("the live view adds each worker's responses per second since the previous look, and their total", () => {
    const later = {
      ...info,
      workers: info.workers.map((w) => (w.responses === null ? w : { ...w, responses: w.responses + (w.pid === 11 ? 500 : 250) })),
    };
    const rates = responseRates(info, later, 2);
    assert.deepEqual(
      [...rates],
      [
        [11, 250],
        [12, 125],
      ],
    );
    const lines = renderStatus(later, rates).split('\n');
    const header = lines.findIndex((l) => l.startsWith('SLOT'));
    assert.equal(lines[header]?.split(/\s{2,}/).at(-1), 'REQ/S');
    assert.deepEqual(
      lines.slice(header + 1, header + 4).map((l) => l.split(/\s{2,}/).at(-1)),
      ['250', '-', '125'],
    );
    assert.match(lines.at(-2) ?? '', /, 375 responses\/s$/);
    // A worker that restarted (its count went down) or is new has no rate; two looks at once, none at all.
    assert.deepEqual([...responseRates(later, info, 2)], []);
    assert.equal(responseRates(info, later, 0).size, 0);
  });

  test('uptimes in the table use their two largest units', () => {
    assert.equal(formatUptime(splitUptime(0)), '0s');
    assert.equal(formatUptime(splitUptime(59)), '59s');
    assert.equal(formatUptime(splitUptime(3_600)), '1h 0m');
    assert.equal(formatUptime(splitUptime(2 * 86_400 + 5)), '2d 0h');
  });
});

describe('buildReady', { timeout: 5_000 }, () => {
  test('ready only when there are slots and each has a ready worker', () => {
    const ok = { accepting: true };
    const every = { required: 2, stopping: false };
    assert.deepEqual(buildReady([ok, ok]), { ready: true, slots: 2, readySlots: 2, accepting: 2, ...every });
    assert.deepEqual(buildReady([ok, null]), { ready: false, slots: 2, readySlots: 1, accepting: 1, ...every });
    assert.deepEqual(buildReady([]), { ready: false, slots: 0, readySlots: 0, accepting: 0, required: 0, stopping: false });
    // One worker out of file descriptors: the other takes the connections. Both: nothing can.
    assert.deepEqual(buildReady([ok, { accepting: false }]), { ready: true, slots: 2, readySlots: 2, accepting: 1, ...every });
    assert.deepEqual(buildReady([{ accepting: false }, { accepting: false }]), { ready: false, slots: 2, readySlots: 2, accepting: 0, ...every });
  });

  test('a threshold lets a slot respawn without taking the instance out; a shutdown is never ready', () => {
    const ok = { accepting: true };
    const half = { threshold: { share: 0.5 }, stopping: false };
    assert.deepEqual(buildReady([ok, null, null, ok], half), { ready: true, slots: 4, readySlots: 2, required: 2, accepting: 2, stopping: false });
    assert.deepEqual(buildReady([ok, null, null, null], half).ready, false);
    assert.deepEqual(buildReady([ok, null, null], { threshold: { share: 0.5 }, stopping: false }).required, 2, 'a share rounds up');
    assert.deepEqual(buildReady([ok, null], { threshold: { count: 1 }, stopping: false }).ready, true);
    assert.deepEqual(buildReady([ok], { threshold: { count: 5 }, stopping: false }).required, 1, 'never more than the slots');
    const going = buildReady([ok, ok], { threshold: { share: 1 }, stopping: true });
    assert.equal(going.ready, false);
    assert.equal(notReadyReason(going), 'The cluster is shutting down');
    assert.equal(notReadyReason(buildReady([ok, null, null, null], half)), 'Fewer slots have a ready worker than the 2 required (1 of 4 ready)');
  });
});
