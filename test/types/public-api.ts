// Type tests of the public API, checked by `tsc --noEmit` in `npm test` against the built declarations (never run).
// Each `@ts-expect-error` must be an error, or tsc fails: what the types refuse is tested as much as what they take.
import recluster, {
  type AdminAddress,
  type AdminOptions,
  type Balance,
  type Cluster,
  type ClusterEvents,
  type ClusterOptions,
  type ClusterService,
  type ClusterStatus,
  type CutInfo,
  DEFAULT_WATCH_EXTENSIONS,
  type DescriptorsInfo,
  type Duration,
  type Envelope,
  type FailedStart,
  FileWatcher,
  type FileWatcherEvents,
  type HandoffsLost,
  type InfoAnswer,
  InvalidOptionError,
  type LogOptions,
  type Logger,
  type PrimaryStatus,
  Qilin,
  type QilinArguments,
  type QilinClusterArguments,
  QilinError,
  type QilinErrorCode,
  type ReadyAnswer,
  type ReadyDetail,
  type ReadyWhen,
  type ReloadAnswer,
  ReloadError,
  type ReloadFailed,
  type ReloadResult,
  type ReloadStart,
  type ReloadStrategy,
  type ReloadSucceeded,
  type ReplaceReason,
  type ResolvedAdminOptions,
  type ResolvedOptions,
  type ResolvedWatch,
  STARTED_WINDOW,
  type SlotGeneration,
  type SlowStart,
  StartError,
  type StartFailure,
  type Uptime,
  type WatchOptions,
  type WorkerInfo,
  type WorkerState,
  type WorkerStatus,
  type recluster as named,
} from 'qilin';
import { type RetireReason, type ShutdownHook, type ShutdownInfo, type generation, isShuttingDown, isWorker, onShutdown, ready, type slot } from 'qilin/worker';

/** Compiles only when A and B are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(value: Equals<A, B>): Equals<A, B> => value;

// --- the factory and its options ------------------------------------------------------------------
const cluster: Cluster = recluster('server.js', { workers: 4, timeout: '30s', strategy: 'rolling', balance: 'kernel' });
same<typeof named, typeof recluster>(true);
const options: ClusterOptions = {
  workers: 2,
  timeout: 30,
  respawn: '1s',
  backoff: '30s' satisfies Duration,
  readyWhen: 'ready',
  readyTimeout: false,
  heartbeatTimeout: '10s',
  maxMemory: '512MB',
  watch: { paths: ['src'], delay: '500ms', ignore: '*.log', extensions: ['js', 'ts'] },
  admin: { listen: 'unix:/run/app.sock', token: 'secret', publicHealth: true },
  log: { respawns: true, reloads: false, warnings: true },
  logger: console,
  env: { PORT: '8000', DEBUG: undefined },
};
void options;
// @ts-expect-error an unknown key is refused at compile time (it only warns at run time)
recluster('server.js', { wokers: 2 });
// @ts-expect-error a readiness the cluster does not know
recluster('server.js', { readyWhen: 'whenever' });
// @ts-expect-error a balance the cluster does not know
recluster('server.js', { balance: 'hash' });
const balances: Balance[] = ['kernel', 'reuseport', 'round-robin', 'sticky'];
const readiness: ReadyWhen[] = ['listening', 'started', 'ready'];
const strategies: ReloadStrategy[] = ['all', 'rolling'];
void [balances, readiness, strategies];
const logger: Logger = { log: () => {} };
const logOptions: LogOptions = { warnings: false };
const watch: WatchOptions = { paths: 'src' };
void [logger, logOptions, watch, DEFAULT_WATCH_EXTENSIONS.includes('js')];

// --- resolved options are read-only, in canonical units ---------------------------------------------
declare const resolved: ResolvedOptions;
same<typeof resolved.timeout, number>(true);
same<typeof resolved.readyTimeout, number | null>(true);
same<typeof resolved.watch, ResolvedWatch | null>(true);
same<typeof resolved.admin, ResolvedAdminOptions | null>(true);
// @ts-expect-error resolved options are frozen
resolved.workers = 3;

// --- methods and their promises -----------------------------------------------------------------
const run: Promise<void> = cluster.run();
const reloaded: Promise<ReloadResult> = cluster.reload();
const scaled: Promise<void> = cluster.scale(6);
const stopped: Promise<void> = cluster.shutdown();
void [run, reloaded, scaled, stopped, cluster.terminate(), cluster.stop()];
process.on('SIGUSR2', cluster.reload); // a signal listener: its argument is not a callback
const withSettings: Promise<ReloadResult> = cluster.reload({ workers: 4, env: { FEATURE: 'on' }, timeout: '30s' }, (error) => void error);
void withSettings;
// @ts-expect-error a reload cannot change how connections are balanced
void cluster.reload({ balance: 'kernel' });
// @ts-expect-error nor the admin interface
void cluster.reload({ admin: '127.0.0.1:9000' });
// @ts-expect-error nor the heartbeats' pace (the option table's `reload: false`)
void cluster.reload({ heartbeatTimeout: '10s' });
// @ts-expect-error nor the primary's V8 flags
void cluster.reload({ leanPrimary: false });
void cluster.reload({ maxMemory: '512mb', serialization: 'advanced', logger: console });
const active: (import('node:cluster').Worker | null)[] = cluster.activeWorkers();
const infos: WorkerInfo[] = cluster.describe();
const state: WorkerState = infos[0]?.state ?? 'exited';
const states: WorkerState[] = ['starting', 'held', 'ready', 'replacing', 'draining', 'retiring', 'exited'];
// @ts-expect-error not a worker state
const wrong: WorkerState = 'stopping';
void [active, state, states, wrong, cluster.generation, cluster.balance, STARTED_WINDOW];
const service: ClusterService = { start: (c: Cluster) => void c, stop: async () => {} };
cluster.attach(service);
cluster.attach(new FileWatcher({ paths: ['/srv/app'], delay: 500, ignore: [], extensions: null }));
const watcherEvents: keyof FileWatcherEvents = 'change';
void watcherEvents;

// --- the one event map --------------------------------------------------------------------------
cluster.on('exit', (worker, code, signal) => {
  same<typeof code, number | null>(true);
  same<typeof signal, NodeJS.Signals | null>(true);
  void worker.process.pid;
});
cluster.on('replace', (_worker, reason: ReplaceReason) => void reason);
cluster.on('ready', (_worker, detail: ReadyDetail) => void detail);
cluster.on('reloadStart', (info: ReloadStart) => void info.generation);
cluster.on('reloadFailed', (error: ReloadError) => void error.start.failure);
cluster.on('slowStart', (_worker, info: SlowStart) => void info.waitedMs);
cluster.on('cut', (_worker, info: CutInfo) => void info.requests);
cluster.on('descriptors', (_worker, info: DescriptorsInfo) => void info.exhausted);
cluster.on('handoffsLost', (_worker, info: HandoffsLost) => void info.count);
// @ts-expect-error the exit code comes after the worker, as in recluster
cluster.on('exit', (code: number) => void code);
// @ts-expect-error no such event
cluster.on('crashed', () => {});
const eventNames: (keyof ClusterEvents)[] = ['fork', 'online', 'listening', 'disconnect', 'message', 'respawn', 'reloadEnd', 'adminListening', 'error'];
void eventNames;

// --- errors ---------------------------------------------------------------------------------------
declare const error: unknown;
if (error instanceof ReloadError) {
  const failed: FailedStart = error.start;
  const failure: StartFailure = failed.failure;
  if (failure.kind === 'listen') void failure.code;
  if (failure.kind === 'spawn') void failure.error;
  const slots: readonly SlotGeneration[] = error.slots;
  void slots;
}
if (error instanceof StartError) void error.start.stderr;
if (error instanceof InvalidOptionError) void error.option;
if (error instanceof QilinError) {
  const code: QilinErrorCode = error.code;
  void code;
}

// --- the original qilin's form ----------------------------------------------------------------------
const clusterArguments: QilinClusterArguments = { exec: 'server.js', args: [], silent: false };
const qilinArguments: QilinArguments = { workers: 3 };
const qilin = new Qilin(clusterArguments, qilinArguments);
void qilin.start((startError: Error | null) => void startError);
// @ts-expect-error args belong to the first argument
new Qilin({ exec: 'server.js' }, { args: [] });

// --- the admin interface's answers ------------------------------------------------------------------
const admin: AdminOptions = { listen: 9000, username: 'ops', password: 'secret' };
declare const address: AdminAddress;
declare const info: Envelope<InfoAnswer>;
const primary: PrimaryStatus | undefined = info.result?.master; // qilin-daemon's name for the primary
const workers: readonly WorkerStatus[] | undefined = info.result?.workers;
const summary: ClusterStatus | undefined = info.result?.cluster;
const uptime: Uptime | undefined = primary?.uptime;
declare const readyAnswer: ReadyAnswer;
declare const reloadAnswer: ReloadAnswer;
if (reloadAnswer.outcome === 'failed') {
  const failedAnswer: ReloadFailed = reloadAnswer;
  void failedAnswer.reason;
} else {
  const succeeded: ReloadSucceeded = reloadAnswer;
  void succeeded.durationMs;
}
void [admin, address, workers, summary, uptime, readyAnswer.accepting];

// --- qilin/worker -----------------------------------------------------------------------------------
const hook: ShutdownHook = async ({ reason, deadline, signal }: ShutdownInfo) => {
  const why: RetireReason = reason;
  void [why, deadline.getTime(), signal.aborted];
};
const unregister: () => void = onShutdown(hook);
void [unregister, ready(), isShuttingDown(), isWorker];
same<typeof slot, number | null>(true);
same<typeof generation, number | null>(true);
