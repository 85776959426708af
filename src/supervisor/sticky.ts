// Sticky sessions (balance 'sticky'): each client address maps to one slot, so its connections reach the same worker, and after a reload that slot's new one. Pure.

/** FNV-1a, 32 bits, over the address's characters: fast, and spread well enough over a few slots. */
export function hashAddress(address: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i += 1) {
    hash ^= address.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** An IPv4 client seen on a dual-stack socket (`::ffff:10.0.0.1`) is the same client as on an IPv4 one. */
function normalized(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/**
 * The worker for a connection from `address`: the one of `takers` serving the slot the address maps to among
 * `slots`, or, when that slot has none that can take it now (respawning, out of descriptors), the next slot's,
 * in order. `attempt` moves on by that many slots: a connection the first choice refused goes to the next.
 * Null when there is no taker. An unknown address (null) goes by attempt only.
 */
export function stickyTaker<C extends { readonly slot: number }>(takers: readonly C[], slots: number, address: string | null, attempt = 0): C | null {
  if (takers.length === 0) return null;
  const count = Math.max(slots, ...takers.map((taker) => taker.slot + 1));
  const first = ((address === null ? 0 : hashAddress(normalized(address))) + attempt) % count;
  for (let step = 0; step < count; step += 1) {
    const slot = (first + step) % count;
    const taker = takers.find((candidate) => candidate.slot === slot);
    if (taker) return taker;
  }
  return null;
}
