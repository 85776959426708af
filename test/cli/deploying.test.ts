// The examples in docs/deploying.md, checked as far as this machine allows: their signals against a real qilin, qilin as PID 1, their timeouts.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { describe, test } from 'node:test';
import { durationOrRaw, parseCommandLine } from '../../src/cli/args.js';
import { planFrom } from '../../src/cli/settings.js';
import { parseDuration } from '../../src/units.js';
import { BIN, QilinProcess, fixture, freePort, get, isAlive, parseIdentity, startQilin, until, within } from './helpers.js';

const TIMEOUT = { timeout: 30_000 };
const doc = readFileSync(new URL('../../docs/deploying.md', import.meta.url), 'utf8');

/** The body of the first fenced block of `language` in docs/deploying.md. */
function block(language: string): string {
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  assert.ok(match, `docs/deploying.md has a ${language} block`);
  return match[1] as string;
}

/** The value of `--flag` in a qilin argument list, in milliseconds. */
function flagMs(args: readonly string[], flag: string): number {
  const index = args.indexOf(flag);
  assert.ok(index !== -1, `${flag} is given`);
  const ms = parseDuration(durationOrRaw(args[index + 1] as string));
  assert.ok(ms !== undefined, `${flag} is a duration`);
  return ms;
}

/**
 * The longest a graceful shutdown with these flags takes: --shutdown-delay (if given) of serving on, then
 * SIGTERM at --timeout (the drain's own deadline comes a margin before), then SIGKILL after --kill-timeout.
 */
function longestShutdownMs(args: readonly string[]): number {
  const delay = args.includes('--shutdown-delay') ? flagMs(args, '--shutdown-delay') : 0;
  return delay + flagMs(args, '--timeout') + flagMs(args, '--kill-timeout');
}

/** Qilin's flags from a command line that runs it, without the program and the app. */
function qilinFlags(args: readonly string[]): string[] {
  assert.match(args[0] as string, /qilin$/, 'the command runs qilin directly');
  return args.slice(1, -1);
}

/** A request to /slow that resolves with its body; `headers` resolves once it is in flight in a worker. */
function slowRequest(port: number, ms: number): { headers: Promise<void>; done: Promise<string> } {
  let inFlight!: () => void;
  const headers = new Promise<void>((resolve) => {
    inFlight = resolve;
  });
  const done = new Promise<string>((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: `/slow?ms=${ms}`, agent: false }, (response) => {
      inFlight();
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (response.complete ? resolve(body) : reject(new Error('response cut short'))));
      response.on('error', reject);
      response.on('aborted', () => reject(new Error('response aborted')));
    });
    request.on('error', reject);
  });
  done.catch(() => {});
  return { headers, done };
}

describe('docs/deploying.md', () => {
  const unit = Object.fromEntries(
    block('ini')
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const execStart = (unit.ExecStart ?? '').split(/\s+/);

  test('systemd: the unit signals only the main process and waits longer than the graceful shutdown', () => {
    assert.equal(unit.KillMode, 'mixed');
    assert.equal(unit.KillSignal, 'SIGTERM');
    assert.equal(unit.ExecReload, '/bin/kill -USR2 $MAINPID');
    // qilin notifies through systemd-notify, a child process: systemd takes its messages only with NotifyAccess=all.
    assert.equal(unit.Type, 'notify');
    assert.equal(unit.NotifyAccess, 'all');
    const flags = qilinFlags(execStart);
    assert.ok(Number(unit.TimeoutStopSec) * 1000 > longestShutdownMs(flags), 'TimeoutStopSec covers the longest graceful shutdown');
  });

  test("systemd: the .socket unit listens on the port the service's app listens on", () => {
    const socketUnit = [...doc.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1] as string).find((text) => text.includes('[Socket]'));
    assert.ok(socketUnit, 'docs/deploying.md has a .socket unit');
    const listen = /^ListenStream=(\d+)$/m.exec(socketUnit)?.[1];
    const port = /PORT=(\d+)/.exec(unit.Environment ?? '')?.[1];
    assert.ok(listen && port && listen === port, `ListenStream (${listen}) is the service's PORT (${port}), so the app's listen() uses the passed socket`);
  });

  test('systemd: ExecReload reloads with no failed request; KillSignal to the main pid drains and exits 0', TIMEOUT, async (t) => {
    const port = await freePort();
    // The unit's own flags, with fewer workers for this 2-core machine and the test's app.
    const qilin = startQilin(t, [...qilinFlags(execStart), '--workers', '2', '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    await qilin.waitFor('started');

    const agent = new http.Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    let running = true;
    const failures: unknown[] = [];
    const client = (async () => {
      while (running) await get(port, '/', agent).catch((error: unknown) => failures.push(error));
    })();
    // systemd runs ExecReload with $MAINPID set to the main process; the shell expands it the same way.
    const reload = spawnSync('/bin/sh', ['-c', unit.ExecReload as string], { env: { ...process.env, MAINPID: String(qilin.pid) } });
    assert.equal(reload.status, 0);
    await qilin.waitFor('reloadEnd');
    running = false;
    await within(10_000, 'the client to finish', client);
    assert.deepEqual(failures, []);
    assert.equal(parseIdentity((await get(port)).body).generation, '1');

    const pids = qilin.records.filter((r) => r.event === 'fork' && r.generation === 1).map((r) => r.pid as number);
    const slow = slowRequest(port, 1000);
    await within(5_000, 'the slow request to be in flight', slow.headers);
    // KillMode=mixed: KillSignal goes to the main process only.
    process.kill(qilin.pid, unit.KillSignal as NodeJS.Signals);
    assert.match(await within(10_000, 'the slow response', slow.done), /slow=done$/);
    assert.deepEqual(await qilin.waitExit(Number(unit.TimeoutStopSec) * 1000), { code: 0, signal: null });
    for (const pid of pids) assert.equal(isAlive(pid), false, `worker ${pid} is gone`);
  });

  test("systemd's default KillMode=control-group, which signals the workers too, would cut an in-flight request", TIMEOUT, async (t) => {
    const port = await freePort();
    const qilin = startQilin(t, ['--workers', '1', '--timeout', '10s', '--log-format', 'json', '--env', `PORT=${port}`, fixture('identity-server.cjs')]);
    await qilin.waitFor('started');
    const slow = slowRequest(port, 1500);
    await within(5_000, 'the slow request to be in flight', slow.headers);
    for (const pid of [qilin.pid, ...qilin.workerPids()]) process.kill(pid, 'SIGTERM');
    await assert.rejects(within(10_000, 'the slow request to end', slow.done), /aborted|cut short|socket hang up|ECONNRESET/);
  });

  test('Docker: CMD in exec form runs qilin with a grace period above its timeout; STOPSIGNAL is SIGTERM', () => {
    const dockerfile = block('dockerfile');
    assert.match(dockerfile, /^STOPSIGNAL SIGTERM$/m);
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    assert.ok(cmd, 'CMD is in exec form (a JSON array)');
    const args = JSON.parse(cmd[1] as string) as string[];
    const flags = qilinFlags(args);
    assert.ok(longestShutdownMs(flags) < 30_000, 'the documented `docker stop --time 30` covers the shutdown');
    assert.match(doc, /docker stop --time 30/);
  });

  test('Docker: qilin as PID 1 of its own PID namespace reloads on SIGUSR2 and stops cleanly on SIGTERM', TIMEOUT, async (t) => {
    const probe = spawnSync('unshare', ['--pid', '--fork', 'true']);
    if (probe.error || probe.status !== 0) {
      t.skip(`cannot make a PID namespace here (unshare: ${probe.error?.message ?? probe.stderr.toString().trim()})`);
      return;
    }
    const args = JSON.parse((/^CMD (\[.*\])$/m.exec(block('dockerfile')) as RegExpExecArray)[1] as string) as string[];
    const port = await freePort();
    const child = spawn('unshare', ['--pid', '--fork', process.execPath, BIN, ...qilinFlags(args), '--env', `PORT=${port}`, fixture('identity-server.cjs')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const qilin = new QilinProcess(child);
    let hostPid = 0;
    t.after(() => {
      for (const pid of [hostPid, child.pid ?? 0]) {
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    });
    const start = await qilin.waitFor('start');
    assert.equal(start.pid, 1, 'qilin is PID 1 in its namespace');
    await qilin.waitFor('started');
    // unshare --fork runs qilin as its child: that child's pid on this side of the namespace is what Docker signals.
    await until(
      'qilin to show up as the child of unshare',
      () => {
        try {
          hostPid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
        } catch {
          hostPid = 0;
        }
        return hostPid > 0;
      },
      5_000,
    );
    process.kill(hostPid, 'SIGUSR2');
    await qilin.waitFor('reloadEnd');
    assert.equal(parseIdentity((await get(port)).body).generation, '1');
    process.kill(hostPid, 'SIGTERM');
    await qilin.waitFor('stopped', (r) => r.forced === false, 15_000);
    assert.equal((await qilin.waitExit()).code, 0, 'unshare exits with qilin status');
  });

  test('Kubernetes: rolling update with no unavailable pod, probes on /readyz, and a grace period above the shutdown delay and the shutdown', () => {
    const yaml = block('yaml');
    assert.match(yaml, /type: RollingUpdate/);
    assert.match(yaml, /maxUnavailable: 0/);
    assert.match(yaml, /readinessProbe:\s+httpGet: \{ path: \/readyz, port: 9000 \}/);
    assert.doesNotMatch(yaml, /preStop/, 'the shutdown delay takes its place');
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(yaml)?.[1]);
    const command = JSON.parse(/^\s+command: (\["node_modules[^\n]*\])$/m.exec(yaml)?.[1] ?? 'null') as string[] | null;
    assert.ok(command, 'the container runs qilin directly');
    const flags = qilinFlags(command);
    assert.ok(flags.includes('--shutdown-delay'));
    assert.ok(grace * 1000 > longestShutdownMs(flags), 'terminationGracePeriodSeconds covers the shutdown delay and the shutdown');
    // The flags are ones qilin takes: the plan is made from them (the token comes from the environment).
    const plan = planFrom(parseCommandLine([...flags, 'server.js']).flags, '/srv/app', (base, p) => `${base}/${p}`, { QILIN_ADMIN_TOKEN: 'x' });
    assert.equal(plan.options.shutdownDelay, 5_000);
    assert.deepEqual(plan.options.admin?.readyThreshold, { share: 0.5 });
  });
});
