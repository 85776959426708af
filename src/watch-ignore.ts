// Which changed paths the file watcher ignores: the default rules (node_modules, dot-entries) and `ignore` globs.
import path from 'node:path';

/** Folders and files never watched unless named as a watched path themselves. */
export const DEFAULT_IGNORE: readonly string[] = Object.freeze(['node_modules', '.*']);

/**
 * Turns one glob into a regular expression over a `/`-separated path. `*` matches within one path
 * component, `**` any number of components (`a/**` is `a` and all below it), `?` one character,
 * `{a,b}` one of the alternatives, `[abc]` a character class. Everything else is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
        i += 1;
        if (atStart && atEnd) {
          if (glob[i + 1] === '/') {
            i += 1;
            out += '(?:[^/]*(?:/|$))*';
          } else {
            out += '.*';
          }
          continue;
        }
        out += '[^/]*';
        continue;
      }
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '{') {
      braces += 1;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces -= 1;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close === -1) {
        out += '\\[';
      } else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else {
      out += c.replace(/[.+^$()|\\\]]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/**
 * A predicate telling whether a path under one of `roots` is ignored. A glob without `/` is matched
 * against every component of the path below its root (`*.log`, `tmp`, `.*`), so an ignored folder hides
 * everything inside it; a glob with `/` is matched against the whole path relative to the root, or any
 * folder on the way (`dist/**`, `src/generated`). A watched root itself is never ignored, so naming a
 * dot-folder or a file in node_modules explicitly watches it.
 */
export function ignoreMatcher(roots: readonly string[], globs: readonly string[]): (file: string) => boolean {
  const component: RegExp[] = [];
  const whole: RegExp[] = [];
  for (const glob of globs) {
    const trimmed = glob.replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (trimmed === '') continue;
    (trimmed.includes('/') ? whole : component).push(globToRegExp(trimmed.replace(/^\/+/, '')));
  }
  const sortedRoots = [...roots].map((r) => path.resolve(r)).sort((a, b) => b.length - a.length);
  return (file: string): boolean => {
    const absolute = path.resolve(file);
    const root = sortedRoots.find((r) => absolute === r || absolute.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    if (root === undefined || root === absolute) return false;
    const parts = path.relative(root, absolute).split(path.sep);
    if (parts.some((part) => component.some((re) => re.test(part)))) return true;
    for (let i = 1; i <= parts.length; i += 1) {
      const prefix = parts.slice(0, i).join('/');
      if (whole.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}
