// Admin routes: which method and path reach which endpoint, and strict reading of query parameters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTarget, readParams, route } from '../../src/admin/routes.js';
import { MAX_WORKERS } from '../../src/worker-count.js';

function paramsOf(method: string, target: string) {
  const parsed = parseTarget(target);
  assert.ok(parsed, target);
  const match = route(method, parsed.pathname);
  assert.equal(match.kind, 'endpoint', target);
  if (match.kind !== 'endpoint') throw new Error('unreachable');
  return readParams(match, parsed.query);
}

describe('route', { timeout: 5_000 }, () => {
  test('GET and HEAD reach the reading endpoints, POST the changing ones', () => {
    for (const path of ['/info', '/metrics', '/healthz', '/readyz']) {
      assert.equal(route('GET', path).kind, 'endpoint');
      assert.equal(route('HEAD', path).kind, 'endpoint');
      assert.deepEqual(route('POST', path), { kind: 'method-not-allowed', allow: 'GET, HEAD', message: `Use GET for ${path}` });
    }
    for (const path of ['/reload', '/quit', '/scale']) assert.equal(route('POST', path).kind, 'endpoint');
  });

  test('a GET to /reload, /quit or /scale is 405, allows POST and names it', () => {
    for (const path of ['/reload', '/quit', '/scale']) {
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const match = route(method, path);
        assert.equal(match.kind, 'method-not-allowed');
        if (match.kind === 'method-not-allowed') {
          assert.equal(match.allow, 'POST');
          assert.match(match.message, /Use POST/);
        }
      }
    }
  });

  test('anything else is not found', () => {
    for (const path of ['/', '/info/', '/INFO', '/reload/now', '/favicon.ico']) assert.equal(route('GET', path).kind, 'not-found');
  });
});

describe('parseTarget', { timeout: 5_000 }, () => {
  test('takes origin-form targets only', () => {
    assert.equal(parseTarget('/info?x=1')?.pathname, '/info');
    for (const target of [undefined, '', '*', 'info', 'http://evil/info', '//evil/info']) assert.equal(parseTarget(target), null, String(target));
  });
});

describe('readParams', { timeout: 5_000 }, () => {
  test('reads workers and wait', () => {
    assert.deepEqual(paramsOf('POST', '/scale?workers=3'), { ok: true, params: { wait: true, workers: 3 } });
    assert.deepEqual(paramsOf('POST', '/scale?workers=0&wait=false'), { ok: true, params: { wait: false, workers: 0 } });
    assert.deepEqual(paramsOf('POST', `/scale?workers=${MAX_WORKERS}`), { ok: true, params: { wait: true, workers: MAX_WORKERS } });
    assert.deepEqual(paramsOf('POST', '/reload?wait=false'), { ok: true, params: { wait: false, workers: null } });
    assert.deepEqual(paramsOf('GET', '/info'), { ok: true, params: { wait: true, workers: null } });
  });

  test('refuses every workers value that is not a plain whole number in range, naming `workers`', () => {
    for (const value of ['-1', 'abc', '1e3', '', '1.5', '0x10', '+2', ' 2', '2 ', '02', String(MAX_WORKERS + 1), '99999999999999999999', 'NaN', 'Infinity']) {
      const result = paramsOf('POST', `/scale?workers=${encodeURIComponent(value)}`);
      assert.equal(result.ok, false, value);
      if (!result.ok) assert.match(result.message, /Expected `workers` to be an integer from 0 to 1024/);
    }
    const missing = paramsOf('POST', '/scale');
    assert.equal(missing.ok, false);
  });

  test('refuses unknown, repeated and malformed parameters', () => {
    assert.deepEqual(paramsOf('GET', '/info?verbose=1'), { ok: false, message: 'Unknown query parameter `verbose` for /info: it takes none' });
    assert.equal(paramsOf('POST', '/scale?workers=1&workers=2').ok, false);
    assert.equal(paramsOf('POST', '/reload?wait=yes').ok, false);
    assert.equal(paramsOf('POST', '/reload?workers=2').ok, false);
  });
});
