// What the primary must survive in each balancing mode: workers flooding a stderr nobody reads, and workers out of file descriptors.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { describe, test } from 'node:test';
import { BIN, fixture, freePort, get, startQilin, until, within } from './helpers.js';

const TIMEOUT = { timeout: 60_000 };

/** Resident memory of a process, in MiB, from /proc. */
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A GET that resolves with the status, or the error's code, within `ms`; never rejects. */
function attempt(port: number, path: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: ms }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.statusCode)));
      response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

for (const balance of ['kernel', 'reuseport', 'round-robin'] as const) {
  describe(`balance '${balance}'`, () => {
    test('a worker flooding stderr while nobody reads the primary’s stderr does not grow the primary', TIMEOUT, async (t) => {
      const port = await freePort();
      // stderr is a pipe the test never reads (paused from the start), as a stalled log reader leaves it.
      const child = spawn(
        process.execPath,
        [BIN, '-w', '2', '--balance', balance, '--log-format', 'json', '--env', `PORT=${port}`, fixture('floods-stderr.cjs')],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stderr.pause();
      const exited = new Promise((resolve) => child.on('exit', resolve));
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      t.after(async () => {
        child.kill('SIGKILL');
        for (const [, pid] of out.matchAll(/"event":"fork","slot":\d+,"pid":(\d+)/g)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Gone with its primary.
          }
        }
        await within(5_000, 'the killed qilin to exit', exited).catch(() => {});
      });
      await until('qilin to start', () => out.includes('"event":"started"'), 15_000);
      const before = rssMiB(child.pid as number);
      await get(port, '/flood');
      let peak = before;
      for (let i = 0; i < 10; i += 1) {
        await sleep(500);
        peak = Math.max(peak, rssMiB(child.pid as number));
      }
      assert.ok(peak - before < 50, `the primary grew from ${before.toFixed(1)} to ${peak.toFixed(1)} MiB`);
      // The primary itself still answers: its log lines keep coming on stdout.
      assert.ok(child.exitCode === null, 'the primary is still running');
    });

    test('after every worker ran out of file descriptors under a burst, new connections are served again within 10 s', TIMEOUT, async (t) => {
      const port = await freePort();
      const qilin = startQilin(t, ['-w', '2', '--balance', balance, '--log-format', 'json', '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
      await qilin.waitFor('started');
      // 64 open files per worker, as a low `ulimit -n` gives; then more held connections than both can take.
      for (const pid of qilin.workerPids()) execFileSync('prlimit', ['--nofile=64:64', '--pid', String(pid)]);
      await Promise.all(Array.from({ length: 120 }, () => attempt(port, '/slow?ms=2000', 8_000)));
      await qilin.waitFor('descriptors', (r) => r.exhausted === true);
      const start = Date.now();
      let served = false;
      while (!served && Date.now() - start < 10_000) {
        const answers = await Promise.all(Array.from({ length: 4 }, () => attempt(port, '/', 2_000)));
        served = answers.every((answer) => answer === '200');
        if (!served) await sleep(250);
      }
      assert.ok(served, `four requests in a row were served within 10 s of the burst (${((Date.now() - start) / 1000).toFixed(1)} s)`);
    });
  });
}
