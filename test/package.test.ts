// The package as users install it: everything package.json, `qilin --help` and the README point to is in it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HELP } from '../src/cli/help.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The files `npm pack` would put in the package (without building it: the suite has built dist/ already). */
function packedFiles(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [pack] = JSON.parse(out) as [{ files: { path: string }[] }];
  return new Set(pack.files.map((f) => f.path));
}

/** Every string value in a nested package.json field (`exports`, `bin`). */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

describe('the package', () => {
  const files = packedFiles();
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;

  it('holds every entry point package.json names, and the worker runtime', () => {
    for (const target of [...targets(pkg.main), ...targets(pkg.types), ...targets(pkg.exports), ...targets(pkg.bin), './dist/runtime.cjs']) {
      assert.ok(files.has(path.posix.normalize(target)), `${target} is in the package`);
    }
  });

  it('holds the licence, the README and every doc the README and `qilin --help` point to', () => {
    assert.ok(files.has('LICENSE') && files.has('README.md'));
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\((docs\/[\w.-]+)(?:#[\w-]+)?\)/g)].map((m) => m[1] as string);
    const named = [...HELP.matchAll(/\bdocs\/[\w-]+\.md\b/g)].map((m) => m[0]);
    assert.ok(linked.length > 0 && named.length > 0);
    for (const doc of new Set([...linked, ...named])) assert.ok(files.has(doc), `${doc} is in the package`);
  });

  it('holds every file the docs link to each other by', () => {
    for (const doc of [...files].filter((f) => f.startsWith('docs/') && f.endsWith('.md'))) {
      const text = readFileSync(path.join(root, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([\w.-]+\.(?:md|svg))(?:#[\w-]+)?\)/g)) {
        assert.ok(files.has(`docs/${target}`), `${doc} links to docs/${target}, which is in the package`);
      }
    }
  });
});
