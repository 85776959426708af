// Test helpers: bounded waits that say what they waited for, clusters cleaned up after each test, HTTP requests to workers.
import type { Worker } from 'node:cluster';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { type Cluster, type ClusterEvents, type ClusterOptions, recluster } from 'qilin';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): string {
  return path.join(fixturesDir, name);
}

/** Rejects with a message naming `what` if `promise` has not settled within `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
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

/** Waits until `condition()` holds, checking every 20 ms, for at most `ms`. */
export async function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`Timed out after ${ms} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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

export interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One GET to the workers on `port`; rejects on any connection error. */
export function get(port: number, urlPath = '/', agent?: http.Agent, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return getFrom({ host: '127.0.0.1', port, path: urlPath, agent: agent ?? false, headers });
}

/** One GET with any request options (a Unix socket path, say); rejects on any connection error. */
export function getFrom(options: http.RequestOptions): Promise<Reply> {
  const urlPath = options.path ?? '/';
  return new Promise((resolve, reject) => {
    const request = http.get({ agent: false, ...options }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error(`GET ${urlPath} timed out`)));
  });
}

/** Parses the fixtures' answer `slot=0 generation=1 pid=123`. */
export function parseIdentity(body: string): { slot: number; generation: number; pid: number } {
  const fields = Object.fromEntries(body.trim().split(/\s+/).map((pair) => pair.split('=') as [string, string]));
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
