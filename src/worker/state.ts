// State shared by the worker runtime and the `qilin/worker` API, kept on globalThis so both see one copy even when loaded as separate CommonJS and ESM bundles.
import type { RetireReason } from '../protocol.js';

/** What a shutdown hook is told. */
export interface ShutdownInfo {
  /** Why the worker is leaving: a reload, a replacement, the cluster's shutdown, a scale-down, or its own crash. */
  readonly reason: RetireReason;
  /** When the primary stops waiting: open connections are destroyed and the process is signalled. */
  readonly deadline: Date;
  /** Aborted at the deadline, for hooks that can cancel their work. */
  readonly signal: AbortSignal;
}

/** A cleanup function run when the worker retires or the cluster shuts down; may be async. */
export type ShutdownHook = (info: ShutdownInfo) => unknown;

interface SharedState {
  readonly hooks: Set<ShutdownHook>;
  shuttingDown: boolean;
  /** The runtime preload is in this process and will run the hooks itself. */
  runtime: boolean;
  /** Set by the API when it listens for retirement itself (no runtime). */
  fallbackListening: boolean;
}

const KEY = Symbol.for('qilin.worker.state');

export function sharedState(): SharedState {
  const holder = globalThis as { [KEY]?: SharedState };
  holder[KEY] ??= { hooks: new Set(), shuttingDown: false, runtime: false, fallbackListening: false };
  return holder[KEY];
}

/**
 * Runs every hook at once; resolves when all have settled or the deadline (on the `performance.now()` clock)
 * has passed, whichever is first. A failing hook is reported, not thrown.
 */
export async function runShutdownHooks(reason: RetireReason, deadline: number): Promise<void> {
  const state = sharedState();
  state.shuttingDown = true;
  if (state.hooks.size === 0) return;
  const controller = new AbortController();
  const left = Math.max(0, deadline - performance.now());
  const info: ShutdownInfo = { reason, deadline: new Date(Date.now() + left), signal: controller.signal };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('The shutdown deadline has passed'));
      resolve();
    }, left);
  });
  const hooks = [...state.hooks].map(async (hook) => {
    try {
      await hook(info);
    } catch (error) {
      console.error('qilin: a shutdown hook failed:', error);
    }
  });
  await Promise.race([Promise.all(hooks), expired]);
  clearTimeout(timer);
}
