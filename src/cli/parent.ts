// Noticing that the npm which started qilin has gone: npm passes SIGTERM only to the shell it runs a script in, and that shell dies of it without passing it on.

type Env = Readonly<Record<string, string | undefined>>;

/** How often the parent is looked at: a stop noticed within a second, for one system call a second. */
const INTERVAL = 1000;

/** True when npm started qilin (`npm start`, `npm run <script>`, `npx qilin`): npm sets `npm_lifecycle_event` for what it runs. */
export function startedByNpm(env: Env): boolean {
  return env.npm_lifecycle_event !== undefined && env.npm_lifecycle_event !== '';
}

/**
 * Calls `gone` once, with the old parent's pid, when qilin's parent process changes: the parent has exited and
 * qilin was adopted (by init or a subreaper). Nothing is watched when the parent at start is already pid 1,
 * as in a container where qilin's parent is the init. Returns a function that stops watching.
 */
export function watchParent(gone: (pid: number) => void, ppid: () => number = () => process.ppid, interval = INTERVAL): () => void {
  const first = ppid();
  if (first <= 1) return () => {};
  const timer = setInterval(() => {
    if (ppid() === first) return;
    clearInterval(timer);
    gone(first);
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
