// PM2's controller: starts the app in cluster mode with 2 instances through PM2's API and runs `pm2 reload`.
// PM2_HOME is a private temporary folder set by run.mjs. The cluster primary is PM2's daemon, not this
// process: its pid is reported for the memory reading.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { APP, WORKERS, control } from './control.mjs';

const pm2 = createRequire(import.meta.url)('pm2');
const NAME = 'qilin-bench-app';
const call = (method, ...args) =>
  new Promise((resolve, reject) => pm2[method](...args, (error, value) => (error ? reject(error) : resolve(value))));

function answers(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
  });
}

// PM2's daemon is spawned before the clock starts: the cold start is the app's, not PM2's own.
await call('connect');

await control({
  async start() {
    await call('start', {
      script: APP,
      name: NAME,
      exec_mode: 'cluster',
      instances: WORKERS,
      env: { PORT: process.env.PORT },
    });
    // PM2's callback means "forked and online", not "listening": wait until the port answers.
    const port = Number(process.env.PORT);
    while (!(await answers(port))) await new Promise((resolve) => setTimeout(resolve, 5));
    const daemonPid = Number(readFileSync(path.join(process.env.PM2_HOME, 'pm2.pid'), 'utf8'));
    // PM2's daemon is a node:cluster primary started with NODE_CLUSTER_SCHED_POLICY unset (systems.mjs), so it
    // runs node:cluster's default on Linux; it cannot be asked from here.
    return { primaryPid: daemonPid, balance: 'round-robin' };
  },
  async reload() {
    await call('reload', NAME);
  },
  async stop() {
    try {
      await call('delete', NAME);
    } finally {
      await call('killDaemon').catch(() => {});
      pm2.disconnect();
    }
  },
});
