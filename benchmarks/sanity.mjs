// Checks that the load generator's counters mean what the report says, on servers whose failures are known:
// none without reloads; every response counted for the worker that sent it; a reset or closed connection with a
// request outstanding; a late response; a non-2xx status; a refused connection. Run it after changing the load
// script or on a new wrk build.
import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';
import { findLoadTool } from './lib/load.mjs';
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

const failed = checks.filter((ok) => !ok).length;
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
