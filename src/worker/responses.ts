// Counts the worker's HTTP responses, and those with a 5xx status, for the primary to judge a canary by, and marks the connections that carry load, for rebalancing: one wrapper on ServerResponse's writeHead, which every HTTP/1 response goes through, and one on an HTTP/2 stream's respond().
import http from 'node:http';
import type net from 'node:net';
import type { ResponseCounts } from '../protocol.js';

let responses = 0;
let errors = 0;
let counting = false;

/**
 * The load window: a connection that answers a second response within one window is busy (a kept-alive
 * connection carrying requests). The primary starts a new window each time it asks (`qilin:count` with `load`).
 */
let window = 1;
/** The window of a connection's first response in it, the window in which it answered a second, and in how many windows in a row, up to that one, it did. */
const FIRST = Symbol('qilin.firstResponse');
const AGAIN = Symbol('qilin.secondResponse');
const STREAK = Symbol('qilin.busyWindows');
type Marked = net.Socket & { [FIRST]?: number; [AGAIN]?: number; [STREAK]?: number };

/**
 * A connection busy in this many load windows in a row (about as many seconds, the first one partial) has
 * lasted: rebalancing moves only those. A pool that lives 2 s is gone before any of its connections has, so
 * it is never asked to reconnect.
 */
export const LASTING_WINDOWS = 3;

/**
 * From now on every `http` and `https` response (Express, Fastify, Koa and hapi answer through it) is counted
 * when its head is written: `res.end()` without a `writeHead` writes it too. HTTP/2 responses are counted by
 * `countHttp2Responses`, for each HTTP/2 server. Costs
 * one call and two comparisons per response; nothing is allocated, and a connection's marks are written at most
 * twice per window.
 */
export function countResponses(): void {
  if (counting) return;
  counting = true;
  const writeHead = http.ServerResponse.prototype.writeHead;
  http.ServerResponse.prototype.writeHead = function countedWriteHead(this: http.ServerResponse) {
    // biome-ignore lint/complexity/noArguments: no allocation per response.
    const result = Reflect.apply(writeHead, this, arguments) as http.ServerResponse;
    responses += 1;
    if (this.statusCode >= 500) errors += 1;
    const socket = this.socket as Marked | null;
    if (socket !== null && socket[AGAIN] !== window) {
      if (socket[FIRST] === window) {
        socket[STREAK] = socket[AGAIN] === window - 1 ? (socket[STREAK] ?? 0) + 1 : 1;
        socket[AGAIN] = window;
      } else socket[FIRST] = window;
    }
    return result;
  } as typeof writeHead;
}

/** Whether HTTP/2 streams' responses are counted yet (their class is wrapped once its first stream is seen). */
let countingHttp2 = false;

/**
 * From the first stream `server` gets, every HTTP/2 response is counted too: the core API's `respond()`,
 * `respondWithFD()` and `respondWithFile()` (counted when called, with the status they are given), and the
 * compatibility API (`http2.createServer((req, res) => ...)`), which answers through `respond()`. Node does
 * not export the class of a server's streams, so its prototype is wrapped when the first stream comes, by a
 * listener that runs before the app's own and then goes. HTTP/2 connections still carry no busy marks: they
 * are never rebalanced.
 */
export function countHttp2Responses(server: net.Server): void {
  if (!counting || countingHttp2) return;
  const first = (stream: object): void => {
    server.off('stream', first);
    if (countingHttp2) return;
    countingHttp2 = true;
    const prototype = Object.getPrototypeOf(stream) as Record<string, unknown>;
    for (const name of ['respond', 'respondWithFD', 'respondWithFile']) {
      const original = prototype[name];
      if (typeof original !== 'function') continue;
      prototype[name] = function countedRespond(this: unknown, headers?: Record<string, unknown> | null) {
        // biome-ignore lint/complexity/noArguments: no allocation per response.
        const result = Reflect.apply(original, this, arguments) as unknown;
        const status = Number(headers?.[':status'] ?? 200);
        responses += 1;
        if (status >= 500) errors += 1;
        return result;
      };
    }
  };
  server.prependListener('stream', first);
}

export function responseCounts(): ResponseCounts {
  return { responses, errors };
}

/** Whether `socket` answered at least two responses in the current load window, or also in the one before (`orLast`: the window the primary has just counted). */
export function isBusy(socket: net.Socket, orLast = false): boolean {
  const again = (socket as Marked)[AGAIN] ?? 0;
  return again === window || (orLast && again === window - 1);
}

/** Whether `socket` is busy (as `isBusy`) and was in each of the `LASTING_WINDOWS` windows up to then. */
export function hasLasted(socket: net.Socket, orLast = false): boolean {
  return isBusy(socket, orLast) && ((socket as Marked)[STREAK] ?? 0) >= LASTING_WINDOWS;
}

/** Starts a new load window (after the busy connections of this one have been counted). */
export function nextLoadWindow(): void {
  window += 1;
}
