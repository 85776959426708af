// The built `qilin` command when the app cannot start: the reason named at once, exit status 1.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, freePort, runQilin, tempDir } from './helpers.js';

const TIMEOUT = { timeout: 30_000 };

describe('qilin command, start failures', () => {
  test('an Express-style app on a taken port fails its first start at once, naming EADDRINUSE', TIMEOUT, async (t) => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    t.after(() => holder.close());
    const { port } = holder.address() as net.AddressInfo;
    const dir = tempDir(t);
    writeFileSync(path.join(dir, 'port'), String(port));
    const app = path.join(dir, 'app.cjs');
    writeFileSync(
      app,
      [
        "const http = require('node:http');",
        'const server = http.createServer((req, res) => res.end());',
        "const done = () => console.log('listening');", // As Express 5 calls back with the error too, and apps ignore it.
        "server.once('error', done);",
        `server.listen(${port}, done);`,
      ].join('\n'),
    );
    // The command's readyTimeout is 30 s: within 5 s, the failure can only come from the listen error.
    const qilin = await runQilin(t, ['-w', '2', app], {}, 5_000);
    assert.equal(qilin.exit.code, 1);
    assert.match(
      qilin.stderr,
      new RegExp(`cannot start ${app.replace(/[.]/g, '\\.')}: Workers could not start: slot \\d \\(pid \\d+\\) could not listen on port ${port}: EADDRINUSE`),
    );
  });

  test('an ESM app with a syntax error is reported with its file:line', TIMEOUT, async (t) => {
    const app = path.join(tempDir(t), 'server.mjs');
    writeFileSync(app, "import http from 'node:http';\nconst port = @@;\nhttp.createServer().listen(port);\n");
    const qilin = await runQilin(t, ['-w', '1', app]);
    assert.equal(qilin.exit.code, 1);
    assert.match(
      qilin.stderr,
      new RegExp(`cannot start ${app.replace(/[.]/g, '\\.')}: Workers could not start: slot 0 \\(pid \\d+\\) exited with code 1 before it was ready`),
    );
    assert.match(qilin.stderr, /server\.mjs:2\n\s+const port = @@;\n\s+\^/);
  });

  test('a worker that cannot be spawned (--cwd /missing) fails the start at once, naming the errno, and leaves no pid file', TIMEOUT, async (t) => {
    const pidFile = path.join(tempDir(t), 'qilin.pid');
    const port = await freePort();
    const qilin = await runQilin(
      t,
      ['-w', '2', '--cwd', '/missing', '--pid-file', pidFile, '--env', `PORT=${port}`, fixture('identity-server.cjs')],
      {},
      10_000,
    );
    assert.equal(qilin.exit.code, 1);
    assert.match(qilin.stderr, /could not be started: spawn \S+ ENOENT \(its working directory \(cwd\) or the node executable does not exist\)/);
    assert.doesNotMatch(qilin.stdout, /worker up, pid \?/);
    assert.equal(existsSync(pidFile), false);
  });
});
