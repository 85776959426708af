// Build: ESM and CommonJS bundles with type declarations, and the worker runtime preload as CommonJS.
import { defineConfig } from 'tsup';

const common = {
  target: 'node22',
  platform: 'node',
  sourcemap: true,
  shims: true,
  outDir: 'dist',
} as const;

export default defineConfig([
  {
    ...common,
    // The `qilin` command (dist/cli.js) is built with the ESM entries so that it shares their chunks.
    entry: { index: 'src/index.ts', worker: 'src/worker/index.ts', cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: { entry: { index: 'src/index.ts', worker: 'src/worker/index.ts' } },
  },
  {
    ...common,
    entry: { worker: 'src/worker/index.ts' },
    format: ['cjs'],
    dts: true,
  },
  {
    // `require('qilin')` is the recluster function itself, with every export on it, so that both
    // `const recluster = require('qilin')` (recluster's form) and `const { recluster } = require('qilin')` work.
    ...common,
    entry: { index: 'src/index.ts' },
    format: ['cjs'],
    dts: true,
    footer: { js: 'module.exports = Object.assign(module.exports.default, module.exports);' },
  },
  {
    // Loaded into every worker with --require, before the app: CommonJS, so it works for CommonJS and ESM apps alike.
    ...common,
    entry: { runtime: 'src/worker/runtime.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
  },
]);
