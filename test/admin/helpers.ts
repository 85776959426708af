// Helpers of the admin tests: clusters with an admin interface that are always cleaned up, bounded waits, HTTP and raw-socket requests, a Prometheus text parser.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Cluster, type ClusterOptions, recluster } from 'qilin';

import { until, within } from '../wait.js';

export { until, within };

export const fixture = (name: string): string => path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'admin', name);

/** The app every admin test runs: answers `slot=.. generation=.. pid=..`, fails at start while FAIL_FLAG_FILE exists. */
export const APP = fixture('serves-identity-unless-flagged.js');

/** Registers work to do when the test or suite ends: `(fn) => t.after(fn)`, or a suite's list run in `after`. */
export type Cleanup = (fn: () => Promise<void>) => void;

/** Cleanups of a suite: `add` them in `before` or in tests, `run` them in the suite's `after`. */
export function suiteCleanup(): { add: Cleanup; run: () => Promise<void> } {
  const tasks: (() => Promise<void>)[] = [];
  return {
    add: (fn) => void tasks.push(fn),
    run: async () => {
      const results = await Promise.allSettled(tasks.splice(0).map((fn) => fn()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

export interface Running {
  readonly cluster: Cluster;
  /** The admin interface's address, from `adminListening`. */
  readonly admin: string;
  /** The port the app's workers listen on (0 without workers). */
  readonly appPort: number;
}

/**
 * Runs the fixture app with an admin interface on an ephemeral port (unless `options.admin` says otherwise)
 * and waits until every worker is ready. The workers are killed when the test ends, pass or fail.
 */
export async function startCluster(cleanup: Cleanup, options: ClusterOptions): Promise<Running> {
  const cluster = recluster(APP, { workers: 2, log: false, silent: true, timeout: '200ms', killTimeout: '500ms', respawn: '50ms', ...options });
  cleanup(async () => {
    await within(15_000, 'the cluster to terminate', cluster.terminate());
  });
  const admin = new Promise<string>((resolve, reject) => {
    cluster.once('adminListening', resolve);
    cluster.once('error', reject);
  });
  const appPort = new Promise<number>((resolve) => cluster.once('listening', (_worker, address) => resolve(address.port)));
  await within(15_000, 'the workers to be ready', cluster.run());
  const port = cluster.options.workers > 0 ? await within(5_000, 'a worker to listen', appPort) : 0;
  return { cluster, admin: await within(5_000, 'the admin interface to listen', admin), appPort: port };
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestSpec {
  readonly method?: string;
  readonly path: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string;
}

/** Where to connect for an admin address (`host:port`, `[::1]:port` or `unix:/path`). */
export function connectTo(address: string): { socketPath: string } | { host: string; port: number } {
  if (address.startsWith('unix:')) return { socketPath: address.slice('unix:'.length) };
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

/** One HTTP request to `address`, answered within 10 s. */
export function request(address: string, spec: RequestSpec): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...spec.headers };
    // Node's client sends a GET's body without framing unless told its length.
    if (spec.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
      headers['content-length'] = Buffer.byteLength(spec.body);
    }
    const outgoing = http.request({ ...connectTo(address), method: spec.method ?? 'GET', path: spec.path, headers, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.setTimeout(10_000, () => outgoing.destroy(new Error(`${spec.method ?? 'GET'} ${spec.path} timed out`)));
    outgoing.end(spec.body);
  });
}

/** The parsed JSON envelope of a reply. */
// biome-ignore lint/suspicious/noExplicitAny: every admin answer has its own shape; the tests read the fields they check.
export function envelope(reply: Reply): { error: string | null; result: any } {
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  return JSON.parse(reply.body) as { error: string | null; result: any };
}

/**
 * Writes `bytes` on a raw connection and returns everything the server sends until it closes the connection
 * (within `ms`). With `end: false` the client keeps its side open, as a slow client would.
 */
export function raw(address: string, bytes: string | Buffer, ms = 5_000, { end = true }: { end?: boolean } = {}): Promise<string> {
  return within(
    ms,
    'the admin interface to answer and close the raw connection',
    new Promise<string>((resolve, reject) => {
      const target = connectTo(address);
      const socket = 'socketPath' in target ? net.connect(target.socketPath) : net.connect(target.port, target.host);
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('close', () => resolve(received));
      socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
      if (end) socket.end(bytes);
      else socket.write(bytes);
    }),
  );
}

export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** One GET to the app's workers; rejects on any connection error. */
export function appAnswers(port: number): Promise<string> {
  return request(`127.0.0.1:${port}`, { path: '/' }).then((reply) => {
    if (reply.status !== 200) throw new Error(`The app answered ${reply.status}`);
    return reply.body;
  });
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+]?(?:[0-9.]+(?:e[-+]?\d+)?|inf|nan))(?: -?\d+)?$/i;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then samples.
 * Throws on any line that is neither, so malformed output fails the test.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name = '', type = ''] = line.split(' ');
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`Bad TYPE line: ${line}`);
      types.set(name, type);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample line: ${JSON.stringify(line)}`);
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    for (const label of labelText.matchAll(LABEL)) labels[label[1] ?? ''] = label[2] ?? '';
    // Values are read as Go's ParseFloat reads them: NaN and Inf in any case.
    const special = valueText.toLowerCase().replace(/^\+/, '');
    const value = special === 'nan' ? NaN : special === 'inf' ? Infinity : special === '-inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && special !== 'nan') throw new Error(`Bad sample value: ${line}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels`; throws when there is none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`Expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return (found[0] as Sample).value;
}
