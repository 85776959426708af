// The app every system serves: a naive hello-world server on $PORT. Its body names the process that served it
// (`hello <pid>`), so the load generator can count requests per worker: a constant string, the same for every
// system, and cheaper than a response header, which cost the workers 5-8% more CPU per keep-alive request
// (benchmarks/README.md).
// With BENCH_REUSE_PORT=1 (the `reuseport` system, whose processes are started on their own, not by
// node:cluster) it binds its own socket with SO_REUSEPORT and tells its parent once it listens.
const http = require('node:http');

// With BENCH_STATUS (the canary step's broken deploy), every response has that status; the handler is chosen
// once, so the usual one does no more than before.
const BODY = `hello ${process.pid}`;
const STATUS = Number(process.env.BENCH_STATUS) || 200;
const server = http.createServer(
  STATUS === 200
    ? (req, res) => res.end(BODY)
    : (req, res) => {
        res.statusCode = STATUS;
        res.end(BODY);
      },
);
const port = Number(process.env.PORT);
// With BENCH_REPORT_START=1 (benchmarks/worker-start.mjs) it tells its parent the CPU time it took to listen.
if (process.env.BENCH_REPORT_START === '1') {
  server.once('listening', () => {
    const cpu = process.cpuUsage();
    process.send?.({ type: 'started', cpuMs: (cpu.user + cpu.system) / 1000 });
  });
}
if (process.env.BENCH_REUSE_PORT === '1') server.listen({ port, reusePort: true }, () => process.send?.({ type: 'listening' }));
else server.listen(port);
