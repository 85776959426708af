// The admin client: `status`, `reload`, `stop` and `scale` calls to an admin interface over TCP or a Unix socket, with Basic or bearer credentials.
import http from 'node:http';
import { QilinError } from '../errors.js';
import { type AdminAddress, formatAdminAddress, parseAdminAddress } from '../admin/address.js';
import type { Envelope, InfoAnswer, ReloadAnswer } from '../admin/answers.js';
import type { Secrets } from '../admin/auth.js';

/** Where an admin interface is and how to get in. */
export interface AdminTarget {
  /** A port (on 127.0.0.1), `'host:port'`, `'[::1]:port'` or `'unix:/path'`, as the server's `listen`. */
  readonly address: AdminAddress | number | string;
  /** A token is sent as `Bearer`; otherwise a username and password as Basic; otherwise nothing. */
  readonly credentials?: Secrets;
  /** Time limit of calls that answer at once, in ms. @default 10000 */
  readonly timeout?: number;
}

/** A call to the admin interface failed: it could not be reached (`status` null), or it answered with an error. */
export class AdminRequestError extends QilinError {
  /** The HTTP status, or null when there was no answer. */
  readonly status: number | null;

  constructor(message: string, status: number | null, options?: ErrorOptions) {
    super('ERR_QILIN_ADMIN_REQUEST', message, options);
    this.name = 'AdminRequestError';
    this.status = status;
  }
}

/** Answers larger than this are not read: no admin answer comes near it. */
const MAX_ANSWER = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT = 10_000;

function addressOf(target: AdminTarget): AdminAddress {
  const { address } = target;
  if (typeof address === 'object') return address;
  const parsed = parseAdminAddress(address);
  if (!parsed) throw new AdminRequestError(`Not an admin address: ${JSON.stringify(address)} (expected a port, host:port or unix:/path)`, null);
  return parsed;
}

/** The Authorization header for the credentials, if any. */
export function authorization(credentials: Secrets | undefined): string | undefined {
  if (credentials?.token !== undefined) return `Bearer ${credentials.token}`;
  if (credentials?.username !== undefined && credentials.password !== undefined) {
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
  }
  return undefined;
}

interface Reply<T> {
  readonly status: number;
  readonly envelope: Envelope<T>;
}

/** One request; `timeout` null waits as long as the server takes (reloads and scaling end by the cluster's own limits). */
function call<T>(target: AdminTarget, method: 'GET' | 'POST', path: string, timeout: number | null): Promise<Reply<T>> {
  const address = addressOf(target);
  const where = formatAdminAddress(address);
  const auth = authorization(target.credentials);
  const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', ...(auth ? { Authorization: auth } : {}) };
  const location = address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
  return new Promise((resolve, reject) => {
    const request = http.request({ ...location, method, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER) request.destroy(new Error(`the answer is larger than ${MAX_ANSWER} bytes`));
        else chunks.push(chunk);
      });
      response.on('error', (error) => reject(new AdminRequestError(`The answer from ${where} broke off: ${error.message}`, null, { cause: error })));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        let envelope: Envelope<T>;
        try {
          envelope = JSON.parse(text) as Envelope<T>;
        } catch {
          reject(new AdminRequestError(`${where} answered ${status} with something other than JSON: ${text.slice(0, 200)}`, status));
          return;
        }
        resolve({ status, envelope });
      });
    });
    const timer = timeout === null ? undefined : setTimeout(() => request.destroy(new Error(`no answer within ${timeout} ms`)), timeout);
    request.on('close', () => clearTimeout(timer));
    request.on('error', (error: NodeJS.ErrnoException) => {
      reject(new AdminRequestError(`Could not reach the admin interface at ${where}: ${error.message}`, null, { cause: error }));
    });
    request.end();
  });
}

function failed(reply: Reply<unknown>, path: string): AdminRequestError {
  return new AdminRequestError(`${path} answered ${reply.status}: ${reply.envelope.error ?? 'no reason given'}`, reply.status);
}

/** `GET /info`: the primary, every worker and the totals. */
export async function status(target: AdminTarget): Promise<InfoAnswer> {
  const reply = await call<InfoAnswer>(target, 'GET', '/info', target.timeout ?? DEFAULT_TIMEOUT);
  if (reply.status !== 200 || !reply.envelope.result) throw failed(reply, '/info');
  return reply.envelope.result;
}

/**
 * `POST /reload`. Waits for the outcome and resolves with it, a failed reload included (`outcome: 'failed'`,
 * the previous workers keep serving); with `wait: false` resolves with null once the reload has begun.
 */
export async function reload(target: AdminTarget, { wait = true }: { wait?: boolean } = {}): Promise<ReloadAnswer | null> {
  const reply = await call<ReloadAnswer>(target, 'POST', wait ? '/reload' : '/reload?wait=false', wait ? null : (target.timeout ?? DEFAULT_TIMEOUT));
  if (!wait && reply.status === 202) return null;
  const result = reply.envelope.result;
  if (result && typeof result === 'object' && 'outcome' in result && (reply.status === 200 || reply.status === 500)) return result;
  throw failed(reply, '/reload');
}

/** `POST /quit`: the cluster stops gracefully; resolves once the primary has said so. */
export async function stop(target: AdminTarget): Promise<void> {
  const reply = await call(target, 'POST', '/quit', target.timeout ?? DEFAULT_TIMEOUT);
  if (reply.status !== 202) throw failed(reply, '/quit');
}

/** `POST /upgrade`: resolves with the new primary's pid once its workers serve (the old primary then retires its own). */
export async function upgrade(target: AdminTarget): Promise<{ pid: number }> {
  const reply = await call<{ pid: number }>(target, 'POST', '/upgrade', null);
  const result = reply.envelope.result;
  if (reply.status === 200 && result && typeof result.pid === 'number') return result;
  throw failed(reply, '/upgrade');
}

/** `POST /scale?workers=N`: resolves when the new workers are ready and the removed ones have exited, or at once with `wait: false`. */
export async function scale(target: AdminTarget, workers: number, { wait = true }: { wait?: boolean } = {}): Promise<void> {
  const path = `/scale?workers=${encodeURIComponent(String(workers))}${wait ? '' : '&wait=false'}`;
  const reply = await call(target, 'POST', path, wait ? null : (target.timeout ?? DEFAULT_TIMEOUT));
  if (reply.status !== (wait ? 200 : 202)) throw failed(reply, '/scale');
}
