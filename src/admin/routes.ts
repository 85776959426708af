// The admin interface's routes: which method and path reach which endpoint, and strict reading of their query parameters.
import { InvalidOptionError } from '../errors.js';
import { MAX_WORKERS } from '../worker-count.js';

export type Endpoint = 'info' | 'metrics' | 'healthz' | 'readyz' | 'reload' | 'quit' | 'scale' | 'upgrade';

interface Route {
  readonly endpoint: Endpoint;
  /** GET routes also answer HEAD; POST routes change the cluster. */
  readonly method: 'GET' | 'POST';
  readonly params: readonly string[];
}

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/info', { endpoint: 'info', method: 'GET', params: [] }],
  ['/metrics', { endpoint: 'metrics', method: 'GET', params: [] }],
  ['/healthz', { endpoint: 'healthz', method: 'GET', params: [] }],
  ['/readyz', { endpoint: 'readyz', method: 'GET', params: [] }],
  ['/reload', { endpoint: 'reload', method: 'POST', params: ['wait'] }],
  ['/quit', { endpoint: 'quit', method: 'POST', params: [] }],
  ['/scale', { endpoint: 'scale', method: 'POST', params: ['workers', 'wait'] }],
  ['/upgrade', { endpoint: 'upgrade', method: 'POST', params: [] }],
]);

/** The endpoints a probe may call without credentials when `publicHealth` is on. */
export const HEALTH_ENDPOINTS: ReadonlySet<Endpoint> = new Set(['healthz', 'readyz']);

export type RouteMatch =
  | { readonly kind: 'endpoint'; readonly endpoint: Endpoint; readonly route: Route }
  | { readonly kind: 'not-found'; readonly message: string }
  | { readonly kind: 'method-not-allowed'; readonly allow: string; readonly message: string };

/** The path and query of a request target; null unless it is origin-form (`/path?query`). */
export function parseTarget(target: string | undefined): { pathname: string; query: URLSearchParams } | null {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return null;
  try {
    const url = new URL(target, 'http://admin.invalid');
    return { pathname: url.pathname, query: url.searchParams };
  } catch {
    return null;
  }
}

/** Which endpoint a method and path reach, or why none does. */
export function route(method: string, pathname: string): RouteMatch {
  const found = ROUTES.get(pathname);
  if (!found) return { kind: 'not-found', message: `No such endpoint: ${pathname}` };
  const allowed = found.method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
  if (!allowed.includes(method)) {
    const message =
      found.method === 'POST'
        ? `Use POST for ${pathname}: it changes the cluster, so a link or an image on a web page must not be able to call it`
        : `Use GET for ${pathname}`;
    return { kind: 'method-not-allowed', allow: allowed.join(', '), message };
  }
  return { kind: 'endpoint', endpoint: found.endpoint, route: found };
}

/** An endpoint's query parameters, read. */
export interface Params {
  /** `/reload` and `/scale`: answer when done (true, the default) or at once with 202. */
  readonly wait: boolean;
  /** `/scale`: the new number of workers. */
  readonly workers: number | null;
}

export type ParamsResult = { readonly ok: true; readonly params: Params } | { readonly ok: false; readonly message: string };

/** Reads a route's query: each known parameter at most once, nothing unknown, every value strict. */
export function readParams(match: Extract<RouteMatch, { kind: 'endpoint' }>, query: URLSearchParams): ParamsResult {
  const seen = new Set<string>();
  for (const key of query.keys()) {
    if (!match.route.params.includes(key)) {
      const known = match.route.params.length === 0 ? 'it takes none' : `it takes ${match.route.params.map((p) => `\`${p}\``).join(', ')}`;
      return { ok: false, message: `Unknown query parameter \`${key}\` for /${match.endpoint}: ${known}` };
    }
    if (seen.has(key)) return { ok: false, message: `Query parameter \`${key}\` is given more than once` };
    seen.add(key);
  }
  const waitText = query.get('wait');
  if (waitText !== null && waitText !== 'true' && waitText !== 'false') {
    return { ok: false, message: new InvalidOptionError('wait', "'true' or 'false'", waitText).message };
  }
  let workers: number | null = null;
  if (match.endpoint === 'scale') {
    const text = query.get('workers');
    // At most MAX_WORKERS, as the `workers` option: a typo should not fork thousands of processes.
    workers = text !== null && /^(0|[1-9]\d*)$/.test(text) ? Number(text) : null;
    if (workers === null || workers > MAX_WORKERS) {
      return { ok: false, message: new InvalidOptionError('workers', `an integer from 0 to ${MAX_WORKERS}`, text ?? undefined).message };
    }
  }
  return { ok: true, params: { wait: waitText !== 'false', workers } };
}
