// Checks that the load generator's counters mean what the report says, on servers whose failures are known:
// none without reloads; every response counted for the worker that sent it; a reset or closed connection with a
// request outstanding; a late response; a non-2xx status; a refused connection. The soak's pollers get the same
// checks, and one more: a connection the server closes while the poller waits is not a lost request. Run it
// after changing the load script or the pollers, or on a new wrk build.
import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';
import { findLoadTool } from './lib/load.mjs';
import { startPollers } from './lib/pollers.mjs';
import { freePort, lostOf, sleep } from './lib/util.mjs';

const APP = new URL('./app.cjs', import.meta.url).pathname;
const tool = findLoadTool(process.argv[2] ?? 'auto');
const checks = [];

function check(name, ok, result, extra = '') {
  checks.push(ok);
  const detail = `${result.requests} responses in the window; failures ${JSON.stringify(result.failures)}; wrk ${JSON.stringify(result.wrkErrors ?? {})}`;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${extra ? ` (${extra})` : ''}\n     ${detail}`);
}

const load = (port, keepAlive, durationSec) =>
  tool.start({ url: `http://127.0.0.1:${port}/`, connections: 32, keepAlive, durationSec, bucketMs: 100, timeoutSec: 2 });
// A few may be sent while wrk stops reading: at most one per connection.
const about = (counted, sent) => counted <= sent && counted >= sent - 32;
const listening = (server, port) => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

console.log(`Load tool: ${tool.version}`);

for (const keepAlive of [true, false]) {
  const mode = keepAlive ? 'keep-alive' : 'close';
  const port = await freePort();
  cluster.setupPrimary({ exec: APP });
  const workers = Array.from({ length: 2 }, () => cluster.fork({ PORT: String(port) }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('listening', resolve))));

  const quiet = await load(port, keepAlive, 3).result;
  check(`${mode}: no failures while nothing is reloaded`, lostOf(quiet) === 0 && quiet.requests > 0, quiet);
  // The per-worker tally (the pid in the app's body) holds every response of the window (autocannon's) or of the
  // whole run (wrk's, whose threads all start at the window's start), each under one of the two workers.
  const tallied = Object.values(quiet.perWorker).reduce((sum, [responses]) => sum + responses, 0);
  const answered = quiet.buckets.reduce((sum, b) => sum + b[1], 0);
  const pids = Object.keys(quiet.perWorker).sort();
  const expected = workers.map((w) => String(w.process.pid)).sort();
  check(
    `${mode}: responses are counted per worker`,
    (tallied === answered || tallied === quiet.requests) && pids.length > 0 && pids.every((pid) => expected.includes(pid)),
    quiet,
    `${tallied} tallied; ${quiet.requests} in the window, ${answered} in all; ${JSON.stringify(quiet.perWorker)}`,
  );

  // Frozen for longer than the timeout, then resumed: the requests it holds are answered late.
  const frozen = load(port, keepAlive, null);
  await sleep(frozen.startAt + 500 - Date.now());
  workers[0].process.kill('SIGSTOP');
  await sleep(2500);
  workers[0].process.kill('SIGCONT');
  await sleep(500);
  const late = await frozen.stop();
  check(`${mode}: a worker frozen for 2.5 s shows timeouts`, late.failures.timeout > 0, late);

  if (keepAlive) {
    // Killed: every connection it holds has a request outstanding (wrk sends the next one at once), so each is lost.
    const running = load(port, keepAlive, null);
    await sleep(running.startAt + 500 - Date.now());
    workers[0].process.kill('SIGKILL');
    await sleep(500);
    const killed = await running.stop();
    check(
      `${mode}: a worker killed under load shows failed requests`,
      killed.failures.noResponse > 0 &&
        (!killed.wrkErrors || killed.failures.noResponse === killed.wrkErrors.read + killed.wrkErrors.write + killed.wrkErrors.connect),
      killed,
      killed.wrkErrors ? 'the script and wrk agree' : '',
    );
  }
  for (const worker of workers) worker.process.kill('SIGKILL');
  await sleep(200);
}

{
  // Closes every 100th connection with FIN and resets every 100th + 50 with RST, a request outstanding each time.
  let requests = 0;
  let dropped = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => {
      requests += 1;
      if (requests % 100 === 0) {
        dropped += 1;
        socket.end();
      } else if (requests % 100 === 50) {
        dropped += 1;
        socket.resetAndDestroy();
      } else {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
      }
    });
  });
  const port = await freePort();
  await listening(server, port);
  const result = await load(port, true, 2).result;
  server.close();
  check('keep-alive connections closed or reset under a request are counted', about(result.failures.noResponse, dropped), result, `${dropped} dropped`);
}

{
  let n = 0;
  const server = http.createServer((req, res) => {
    n += 1;
    res.statusCode = n % 10 === 0 ? 503 : 200;
    res.end('hello');
  });
  const port = await freePort();
  await listening(server, port);
  const result = await load(port, true, 2).result;
  server.close();
  server.closeAllConnections();
  const sent = Math.floor(n / 10);
  check('non-2xx responses are counted', about(result.failures.non2xx, sent), result, `${sent} 503s sent`);
}

{
  // wrk gives up at once if it cannot connect at the start, so the server goes away while the load runs.
  // wrk does not check a non-blocking connect's outcome: a refused connection fails at the write that follows.
  const server = http.createServer((req, res) => res.end('hello'));
  const port = await freePort();
  await listening(server, port);
  const running = load(port, true, null);
  await sleep(running.startAt + 500 - Date.now());
  server.close();
  server.closeAllConnections();
  await sleep(500);
  const result = await running.stop();
  check('refused connections are counted, once per attempt', result.failures.noResponse > 1000, result);
}

// The pollers (lib/pollers.mjs), against servers that do one known thing; every count must be exact.
function checkPolls(name, ok, polled, extra = '') {
  checks.push(ok);
  const detail = `${polled.polls} polls, ${polled.ok} ok, ${polled.reused} kept alive, ${polled.closedWhileIdle} closed while idle; failures ${JSON.stringify(polled.failures)}`;
  console.log(`${ok ? 'ok  ' : 'FAIL'} pollers: ${name}${extra ? ` (${extra})` : ''}\n     ${detail}`);
}

async function poll(server, waitsMs, ms = 2000) {
  const port = await freePort();
  await listening(server, port);
  const pollers = startPollers({ port, count: 4, waitsMs, timeoutMs: 500 });
  await sleep(ms);
  const polled = await pollers.stop();
  server.closeAllConnections?.();
  server.close();
  return polled;
}

{
  let requests = 0;
  const polled = await poll(
    http.createServer((req, res) => {
      requests += 1;
      res.end('hello');
    }),
    [50, 300],
  );
  checkPolls('no failures, connections kept alive', polled.lost === 0 && polled.polls === requests && polled.reused === requests - 4 && polled.closedWhileIdle === 0, polled, `${requests} served`);
}

{
  // Idle connections closed (FIN) after 200 ms; the pollers wait 400 ms: each next request goes on a new connection.
  const server = http.createServer((req, res) => res.end('hello'));
  server.keepAliveTimeout = 200;
  server.keepAliveTimeoutBuffer = 0;
  const polled = await poll(server, [400]);
  checkPolls('a connection closed while the poller waits is no loss', polled.lost === 0 && polled.reused === 0 && polled.closedWhileIdle >= polled.polls - 8, polled);
}

{
  // Every 10th request's connection closed with FIN under it, every 10th + 5 reset with RST.
  let requests = 0;
  let closed = 0;
  let reset = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => {
      requests += 1;
      if (requests % 10 === 0) {
        closed += 1;
        socket.end();
      } else if (requests % 10 === 5) {
        reset += 1;
        socket.resetAndDestroy();
      } else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    });
  });
  const polled = await poll(server, [20]);
  checkPolls(
    'connections closed or reset under a request are counted, by kind',
    polled.polls === requests && polled.failures.closed === closed && polled.failures.reset === reset && polled.lost === closed + reset,
    polled,
    `${closed} closed, ${reset} reset`,
  );
}

{
  let requests = 0;
  const polled = await poll(
    http.createServer((req, res) => {
      requests += 1;
      res.statusCode = requests % 5 === 0 ? 503 : 200;
      res.end('hello');
    }),
    [20],
  );
  checkPolls('non-2xx responses are counted', polled.failures.non2xx === Math.floor(requests / 5) && polled.lost === polled.failures.non2xx, polled, `${Math.floor(requests / 5)} 503s sent`);
}

{
  const polled = await poll(http.createServer(() => {}), [50]);
  checkPolls('unanswered requests time out', polled.polls > 0 && polled.failures.timeout === polled.polls, polled);
}

{
  const polled = await poll(
    http.createServer((req, res) => {
      res.shouldKeepAlive = false;
      res.end('hello');
    }),
    [20],
  );
  checkPolls('after `Connection: close` the next request goes on a new connection', polled.lost === 0 && polled.reused === 0 && polled.bands[0].closeAnnounced === polled.polls, polled);
}

{
  const server = http.createServer();
  const port = await freePort();
  const pollers = startPollers({ port, count: 2, waitsMs: [100], timeoutMs: 500 });
  await sleep(1000);
  const polled = await pollers.stop();
  server.close();
  checkPolls('refused connections are counted', polled.polls > 0 && polled.failures.refused === polled.polls, polled);
}

const failed = checks.filter((ok) => !ok).length;
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
