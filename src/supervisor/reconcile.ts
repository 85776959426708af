// The one place a slot gets a new worker: what it has against what it should have (Puma's check_workers, kept event-driven).
import { formatDuration } from '../units.js';
import type { Cause } from './core.js';
import type { SupervisorHost } from './host.js';
import type { Slot } from './slot.js';

/**
 * The one place a slot gets a new worker, comparing what it has with what it should have: a slot with no
 * worker gets one after its backoff delay; a slot whose worker is being replaced gets the replacement. Nothing
 * happens while the cluster is not running, for a removed slot or a canary's (the reload judges that worker
 * and removes the slot), or while a new worker already starts or waits for its delay (a reload's included).
 */
export function reconcileSlot(host: SupervisorHost, slot: Slot, cause: Cause, spawn: () => void): void {
  if (!host.running || slot.removed || slot.canary) return;
  if (slot.next || slot.respawnPending) {
    if (cause.kind === 'replace') host.log('respawns', `${cause.why}; its replacement is already starting`);
    return;
  }
  // A slot needs a worker when it has none, or when the one it has is being replaced.
  if (slot.active !== null && slot.active.state !== 'replacing') return;
  if (cause.kind === 'lost' || (cause.kind === 'restore' && slot.active === null)) {
    // A slot that was healthy gets its first replacement at once; the attempt still counts for the backoff.
    const immediate = cause.kind === 'lost' && cause.immediate === true && slot.backoff.attempts === 0;
    const backoffDelay = slot.backoff.next();
    const delay = immediate ? 0 : backoffDelay;
    const why = cause.kind === 'restore' ? `slot ${slot.index} has no worker after the failed reload` : cause.why;
    slot.restarts += 1;
    host.emit('respawn', slot.index, delay, cause.kind === 'lost' ? (cause.previous?.worker ?? null) : null);
    host.log('respawns', `${why}; respawning slot ${slot.index} in ${formatDuration(delay)}`);
    slot.scheduleRespawn(delay, spawn);
    return;
  }
  if (cause.kind === 'restore') {
    // A replacement the failed reload superseded: started again, with the code that serves now.
    spawn();
    return;
  }
  const delay = cause.backoff ? slot.backoff.next() : 0;
  if (delay === 0) {
    host.log('respawns', `${cause.why}; starting its replacement`);
    spawn();
    return;
  }
  host.log('respawns', `${cause.why}; starting its replacement in ${formatDuration(delay)}`);
  slot.scheduleRespawn(delay, spawn);
}
