// The package's public surface: re-exports only.
import { recluster } from './recluster.js';

export { recluster };
export default recluster;
export { Cluster, STARTED_WINDOW, type ClusterService, type WorkerInfo } from './cluster.js';
export type {
  Balance,
  ClusterOptions,
  Duration,
  Logger,
  LogOptions,
  ReadyWhen,
  ReloadSettings,
  ReloadStrategy,
  ResolvedOptions,
  ResolvedWatch,
  WatchOptions,
} from './options.js';
export type {
  ClusterEvents,
  CutInfo,
  DescriptorsInfo,
  HandoffsLost,
  ReadyDetail,
  RebalanceInfo,
  RebalancedWorker,
  CanaryEnd,
  CanaryStart,
  ReloadResult,
  ReloadStart,
  ReplaceReason,
  SlowStart,
} from './events.js';
export type { WorkerState } from './supervisor/lifecycle.js';
export type { ResponseCounts, WorkerCounts } from './protocol.js';
export { DEFAULT_WATCH_EXTENSIONS } from './options.js';
export { FileWatcher, type FileWatcherEvents } from './watch.js';
export { Qilin, type QilinArguments, type QilinClusterArguments } from './qilin.js';
export type { AdminOptions, ResolvedAdminOptions } from './admin/options.js';
export type { AdminAddress } from './admin/address.js';
export type {
  Envelope,
  InfoAnswer,
  PrimaryStatus,
  WorkerStatus,
  ClusterStatus,
  Uptime,
  ReloadAnswer,
  ReloadSucceeded,
  ReloadFailed,
  ReadyAnswer,
} from './admin/answers.js';
export {
  QilinError,
  InvalidOptionError,
  StartError,
  ReloadError,
  type QilinErrorCode,
  type FailedStart,
  type StartFailure,
  type SlotGeneration,
} from './errors.js';
