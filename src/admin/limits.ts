// The admin server's bounds on requests: sizes and times a client may use, and reading (then refusing) a request body within them.
import type { IncomingMessage } from 'node:http';

/** Bounds on what a client may send and how long it may take. */
export interface AdminLimits {
  /** Largest request head (request line and headers), in bytes; more gets 431. */
  readonly maxHeaderSize: number;
  /** Largest request body read, in bytes; more gets 413. The API takes no body, so any gets 415. */
  readonly maxBodySize: number;
  /** Time allowed to send the request head, in ms; then 408 and the connection is closed. */
  readonly headersTimeout: number;
  /** Time allowed to send the whole request, in ms (not to wait for the answer: a reload may take minutes). */
  readonly requestTimeout: number;
  /** How often the server looks for connections past those timeouts, in ms. */
  readonly connectionsCheckingInterval: number;
  readonly keepAliveTimeout: number;
  /** Connections open at once; more are refused. */
  readonly maxConnections: number;
  /** On stop, how long answers being written may take before their connections are cut, in ms. */
  readonly closeGrace: number;
}

export const DEFAULT_LIMITS: AdminLimits = Object.freeze({
  maxHeaderSize: 8 * 1024,
  maxBodySize: 1024,
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  connectionsCheckingInterval: 1_000,
  keepAliveTimeout: 5_000,
  maxConnections: 64,
  closeGrace: 1_000,
});

/** Whether a request declares a body, and whether it is too large to read. */
export type BodyCheck = 'none' | 'too-large' | 'read';

export function declaredBody(request: IncomingMessage, limit: number): BodyCheck {
  if (request.headers['transfer-encoding'] !== undefined) return 'read';
  const length = Number(request.headers['content-length'] ?? 0);
  if (length > limit) return 'too-large';
  return length > 0 ? 'read' : 'none';
}

/** Reads a request body of at most `limit` bytes; resolves with its size, or `limit + 1` when there was more. */
export function bodySize(request: IncomingMessage, limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        resolve(limit + 1);
      }
    });
    request.once('end', () => resolve(size));
    request.once('close', () => resolve(size));
    request.once('error', reject);
  });
}
