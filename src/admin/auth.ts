// Admin credentials: reading the Authorization header and checking it in constant time against HTTP Basic credentials or a bearer token.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a client sent in its Authorization header, once read. */
export type Presented =
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string }
  | { readonly scheme: 'bearer'; readonly token: string };

/** The realm named in `WWW-Authenticate`. */
export const REALM = 'qilin';

/** Reads an Authorization header; null when it is missing or is neither well-formed Basic nor Bearer. */
export function parseAuthorization(header: string | undefined): Presented | null {
  if (header === undefined) return null;
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (!match) return null;
  const [, scheme = '', value = ''] = match;
  switch (scheme.toLowerCase()) {
    case 'basic': {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return null;
      return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    case 'bearer':
      return { scheme: 'bearer', token: value };
    default:
      return null;
  }
}

/** The expected secrets, as given to `AdminAuth`. */
export interface Secrets {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
}

/**
 * Checks credentials without leaking, by timing, how much of a secret matched. Every value is compared as an
 * HMAC under a key made at start: digests have one length whatever was sent, so `timingSafeEqual` applies,
 * and the secrets themselves are not kept where logging the options would print them.
 */
export class AdminAuth {
  readonly #key = randomBytes(32);
  readonly #username: Buffer | null;
  readonly #password: Buffer | null;
  readonly #token: Buffer | null;

  constructor(secrets: Secrets) {
    const basic = secrets.username !== undefined && secrets.password !== undefined;
    this.#username = basic ? this.#digest(secrets.username ?? '') : null;
    this.#password = basic ? this.#digest(secrets.password ?? '') : null;
    this.#token = secrets.token === undefined ? null : this.#digest(secrets.token);
  }

  /** True when HTTP Basic credentials are accepted. */
  get basic(): boolean {
    return this.#username !== null;
  }

  /** True when a bearer token is accepted. */
  get bearer(): boolean {
    return this.#token !== null;
  }

  /** True when the Authorization header carries accepted credentials. */
  check(header: string | undefined): boolean {
    const presented = parseAuthorization(header);
    if (!presented) return false;
    if (presented.scheme === 'bearer') return this.#token !== null && this.#same(presented.token, this.#token);
    if (this.#username === null || this.#password === null) return false;
    // Both halves are compared every time, so a right username and a wrong one take the same time.
    const user = this.#same(presented.username, this.#username);
    const password = this.#same(presented.password, this.#password);
    return user && password;
  }

  /** The `WWW-Authenticate` challenges of a 401: one per accepted scheme. */
  challenges(): string[] {
    const out: string[] = [];
    if (this.basic) out.push(`Basic realm="${REALM}", charset="UTF-8"`);
    if (this.bearer) out.push(`Bearer realm="${REALM}"`);
    return out;
  }

  /** What util.inspect and JSON show: which schemes are on, never the secrets. */
  toJSON(): { basic: boolean; bearer: boolean } {
    return { basic: this.basic, bearer: this.bearer };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `AdminAuth { basic: ${this.basic}, bearer: ${this.bearer} }`;
  }

  #digest(value: string): Buffer {
    return createHmac('sha256', this.#key).update(value, 'utf8').digest();
  }

  #same(given: string, expected: Buffer): boolean {
    return timingSafeEqual(this.#digest(given), expected);
  }
}
