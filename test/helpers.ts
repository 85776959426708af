// Test helpers: bounded waits that say what they waited for, clusters cleaned up after each test, HTTP requests to workers.
import assert from 'node:assert/strict';
import type { Worker } from 'node:cluster';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { type Cluster, type ClusterEvents, type ClusterOptions, recluster } from 'qilin';

import { get, getFrom, type Reply } from './http.js';
import { until, within } from './wait.js';

export { get, getFrom, type Reply, until, within };

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): string {
  return path.join(fixturesDir, name);
}

/** Records from now on, in order, each worker forked (`fork <slot>`) and each that became ready (`ready <slot>`). */
export function startOrder(cluster: Cluster): string[] {
  const order: string[] = [];
  const slotOf = new Map<Worker, number>();
  cluster.on('fork', (worker, slot) => {
    slotOf.set(worker, slot);
    order.push(`fork ${slot}`);
  });
  cluster.on('ready', (worker) => order.push(`ready ${slotOf.get(worker)}`));
  return order;
}

/** The next `event` of `cluster` whose arguments pass `filter`, within `ms`. */
export function nextEvent<E extends keyof ClusterEvents>(
  cluster: Cluster,
  event: E,
  filter: (...args: ClusterEvents[E]) => boolean = () => true,
  ms = 10_000,
): Promise<ClusterEvents[E]> {
  let listener: ((...args: ClusterEvents[E]) => void) | undefined;
  const seen = new Promise<ClusterEvents[E]>((resolve) => {
    listener = (...args: ClusterEvents[E]) => {
      if (filter(...args)) resolve(args);
    };
    (cluster.on as (e: E, l: typeof listener) => void)(event, listener);
  });
  return within(ms, `the cluster's ${String(event)} event`, seen).finally(() => {
    (cluster.off as (e: E, l: typeof listener) => void)(event, listener);
  });
}

/** A logger that keeps lines for assertions instead of printing them. */
export function memoryLogger(): { log: (...args: unknown[]) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (...args: unknown[]) => lines.push(args.map(String).join(' ')) };
}

/** Creates a cluster whose workers are all killed when the test ends, pass or fail. Tests that end it themselves lose nothing. */
export function testCluster(t: TestContext, file: string, options: ClusterOptions = {}): Cluster {
  const cluster = recluster(fixture(file), { log: false, ...options });
  t.after(async () => {
    await within(15_000, 'the cluster to terminate', cluster.terminate());
  });
  return cluster;
}

/** The port the cluster's workers listen on, from the first `listening` event. */
export function portOf(cluster: Cluster): Promise<number> {
  return nextEvent(cluster, 'listening').then(([, address]) => address.port);
}

/** Parses the fixtures' answer `slot=0 generation=1 pid=123`. */
export function parseIdentity(body: string): { slot: number; generation: number; pid: number } {
  const fields = Object.fromEntries(
    body
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split('=') as [string, string]),
  );
  return { slot: Number(fields.slot), generation: Number(fields.generation), pid: Number(fields.pid) };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function pidsOf(workers: readonly (Worker | null)[]): number[] {
  return workers.flatMap((w) => (w?.process.pid === undefined ? [] : [w.process.pid]));
}

/** What `promise` rejects with; the test fails if it resolves. */
export function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

/** Two workers of the versioned app (test/fixtures/versioned-app.cjs), at v1; `deploy` changes the code on disk by writing its version file. */
export async function versionedCluster(t: TestContext, options: ClusterOptions = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'qilin-versioned-'));
  const versionFile = path.join(dir, 'version');
  const deploy = (version: string) => writeFile(versionFile, version);
  await deploy('v1');
  const cluster = testCluster(t, 'versioned-app.cjs', { workers: 2, ...options, env: { ...options.env, VERSION_FILE: versionFile } });
  const port = portOf(cluster);
  await within(10_000, 'the first generation', cluster.run());
  return { cluster, deploy, port: await port };
}
