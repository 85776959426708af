// HTTP requests for tests: one GET, answered or rejected, never hanging.
import http from 'node:http';

export interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One GET to 127.0.0.1:`port`; rejects on any connection error. */
export function get(port: number, urlPath = '/', agent: http.Agent | false = false, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return getFrom({ host: '127.0.0.1', port, path: urlPath, agent, headers });
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

/** One GET on `agent`'s pooled connection: who answered, and whether the connection was one already used. */
export function pooledGet(port: number, agent: http.Agent, urlPath = '/'): Promise<{ pid: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ pid: Number(/pid=(\d+)/.exec(body)?.[1]), reused: request.reusedSocket }));
      response.on('error', reject);
    });
    request.setTimeout(10_000, () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`${request.reusedSocket ? 'reused' : 'new'} connection: ${error.code ?? error.message}`)),
    );
  });
}
