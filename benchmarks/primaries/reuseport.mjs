// The limit: as many standalone `node app.cjs` processes as the others have workers, each listening with
// `listen({ port, reusePort: true })` on its own socket, so the kernel spreads connections among them and nothing
// stands between it and the app. This controller only starts and stops them: it is not a primary, has no part in
// the data path and no reload (run.mjs skips this system in the reload and soak phases).
import { fork } from 'node:child_process';
import { APP, WORKERS, control } from './control.mjs';

let children = [];

function startOne() {
  const child = fork(APP, [], { env: { ...process.env, BENCH_REUSE_PORT: '1' }, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      if (message?.type === 'listening') resolve(child);
    });
    child.once('exit', (code, signal) => reject(new Error(`app exited with ${code ?? signal} before listening`)));
  });
}

await control({
  async start() {
    children = await Promise.all(Array.from({ length: WORKERS }, startOne));
    return { balance: 'reuseport' };
  },
  reload() {
    throw new Error('reuseport has no reload: its processes are not managed');
  },
  async stop() {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      ),
    );
  },
});
