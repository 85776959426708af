// Picks the load generator: wrk where installed, else autocannon.
import { createRequire } from 'node:module';
import { startAutocannon } from './autocannon.mjs';
import { findWrk, startWrk } from './wrk.mjs';

export function findLoadTool(preference = 'auto') {
  if (preference === 'wrk' || preference === 'auto') {
    const wrk = findWrk();
    if (wrk) return { name: 'wrk', version: wrk.version, start: (options) => startWrk({ bin: wrk.bin, ...options }) };
    if (preference === 'wrk') throw new Error('wrk is not installed (set WRK to its path, or use --tool=autocannon)');
  }
  const version = createRequire(import.meta.url)('autocannon/package.json').version;
  return { name: 'autocannon', version: `autocannon ${version}`, start: startAutocannon };
}
