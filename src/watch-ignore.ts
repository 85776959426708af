// Which changed paths the file watcher ignores: its `ignore` globs, the defaults (node_modules, dot-entries) first. Loaded only by a watching primary.
import path from 'node:path';
import picomatch from 'picomatch';

/**
 * A predicate telling whether a path under one of `roots` is ignored. A glob without `/` is matched
 * against every component of the path below its root (`*.log`, `tmp`, `.*`), so an ignored folder hides
 * everything inside it; a glob with `/` is matched against the whole path relative to the root, or any
 * folder on the way (`dist/**`, `src/generated`). A watched root itself is never ignored, so naming a
 * dot-folder or a file in node_modules explicitly watches it.
 */
export function ignoreMatcher(roots: readonly string[], globs: readonly string[]): (file: string) => boolean {
  const component: picomatch.Matcher[] = [];
  const whole: picomatch.Matcher[] = [];
  for (const glob of globs) {
    const trimmed = glob.replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (trimmed === '') continue;
    (trimmed.includes('/') ? whole : component).push(picomatch(trimmed.replace(/^\/+/, ''), { dot: true }));
  }
  const sortedRoots = [...roots].map((r) => path.resolve(r)).sort((a, b) => b.length - a.length);
  return (file: string): boolean => {
    const absolute = path.resolve(file);
    const root = sortedRoots.find((r) => absolute === r || absolute.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    if (root === undefined || root === absolute) return false;
    const parts = path.relative(root, absolute).split(path.sep);
    if (parts.some((part) => component.some((matches) => matches(part)))) return true;
    for (let i = 1; i <= parts.length; i += 1) {
      const prefix = parts.slice(0, i).join('/');
      if (whole.some((matches) => matches(prefix))) return true;
    }
    return false;
  };
}
