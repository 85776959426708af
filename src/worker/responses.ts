// Counts the worker's HTTP responses, and those with a 5xx status, for the primary to judge a canary by: one wrapper on ServerResponse's writeHead, which every HTTP/1 response goes through.
import http from 'node:http';
import type { ResponseCounts } from '../protocol.js';

let responses = 0;
let errors = 0;
let counting = false;

/**
 * From now on every `http` and `https` response (Express, Fastify, Koa and hapi answer through it) is counted
 * when its head is written: `res.end()` without a `writeHead` writes it too. HTTP/2 responses are not. Costs
 * one call and a comparison per response; nothing is allocated.
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
    return result;
  } as typeof writeHead;
}

export function responseCounts(): ResponseCounts {
  return { responses, errors };
}
