// The part of the supervisor its helpers (worker events, the monitor) act through, so they need not import the supervisor itself.
import type { Worker } from 'node:cluster';
import type { StartFailure } from '../errors.js';
import type { ReadyDetail, ReplaceReason } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { SupervisorHost, SupervisorIO } from './host.js';
import type { SocketTable } from '../sockets/table.js';
import type { Handovers } from './handover.js';
import type { SlotCover } from './cover.js';
import type { ClusterRelay } from './relay-sink.js';
import type { Slot } from './slot.js';
import type { WorkerHandle } from './worker-handle.js';

/** Why a slot is being looked at: it lost its worker, its worker is being replaced, or a reload failed. */
export type Cause =
  | { readonly kind: 'lost'; readonly previous: WorkerHandle | null; readonly why: string; readonly immediate?: boolean }
  | { readonly kind: 'replace'; readonly why: string; readonly backoff: boolean }
  | { readonly kind: 'restore' };

export interface SupervisorCore {
  readonly host: SupervisorHost;
  readonly options: ResolvedOptions;
  readonly io: SupervisorIO;
  /** The listening sockets the primary owns, shared by every cluster of the process. */
  readonly sockets: SocketTable;
  readonly handles: Map<Worker, WorkerHandle>;
  /** Where retiring workers' idle connections go. */
  readonly handovers: Handovers;
  /** How connections the primary accepts reach this cluster's workers (round-robin). */
  readonly relay: ClusterRelay;
  /** Where a slot's share of connections goes while no worker of that slot accepts (balance 'reuseport'). */
  readonly cover: SlotCover;
  slot(index: number): Slot | undefined;
  markReady(handle: WorkerHandle, detail: ReadyDetail): void;
  /** A worker has become able to take connections: those waiting for one in the primary go to it. */
  canTake(): void;
  startFailed(handle: WorkerHandle, failure: StartFailure): void;
  replace(handle: WorkerHandle, reason: ReplaceReason): void;
  reconcile(slot: Slot, cause: Cause): void;
  /** Reads the memory of a worker above `maxMemory` often, and kills it above the hard limit. */
  watchMemory(handle: WorkerHandle): void;
}
