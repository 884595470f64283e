/** What a hidden secret is replaced with. */
export const REDACTED = '[redacted]';

/** Parts derived from a secret (after an auth scheme, a Basic password…) shorter than this are not hunted for. */
const MIN_PART_LENGTH = 6;
/** The fewest known characters around `***` that make a masked echo of a secret (`sk-abc***xyz`). */
const MIN_MASKED = 4;
/** The shortest start of a secret before a `…` that is hidden (fewer characters reveal nothing). */
const MIN_CUT = 6;

/**
 * Hides configured credentials in any text leaving the proxy: answers and error bodies, stream
 * frames, statistics, log lines. Built once per route from its auth values; `redact` costs one
 * `includes` per needle when nothing is found, and allocates nothing then.
 *
 * What is hidden, for each configured value:
 * - the value itself, its JSON-escaped and URL-encoded spellings;
 * - the credential after an auth scheme (`Bearer sk-…` → `sk-…`, OpenAI's 401 echoes it so), and
 *   for `Basic` the decoded `user:password` and the password;
 * - partial echoes: a masked form keeping a start and an end of the value around `***`
 *   (`sk-abc***…***wxyz`, as OpenAI masks keys), and a start of the value cut off by `…`
 *   (excerpts of upstream messages are cut so).
 */
export class Redactor {
  /** Every spelling to hide, longest first, so a longer one is replaced before a part of it. */
  readonly needles: readonly string[];

  constructor(secrets: readonly string[]) {
    const all = new Set<string>();
    for (const secret of secrets) for (const part of secretParts(secret)) all.add(part);
    this.needles = [...all].sort((a, b) => b.length - a.length);
  }

  /** True when there is something to hide. */
  get active(): boolean {
    return this.needles.length > 0;
  }

  redact(text: string): string {
    const needles = this.needles;
    if (needles.length === 0) return text;
    let out = text;
    for (let i = 0; i < needles.length; i++) {
      const needle = needles[i] as string;
      if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    }
    if (out.includes('***')) out = this.masked(out);
    if (out.includes('…')) out = this.cut(out);
    return out;
  }

  /** `<start of a secret>***<end of it>`, with at least MIN_MASKED known characters around the stars. */
  private masked(text: string): string {
    let out = '';
    let from = 0;
    // No known part around the stars can be longer than the longest needle: look no further.
    const reach = this.needles[0]!.length - 1;
    let star = text.indexOf('***');
    while (star !== -1) {
      let starEnd = star;
      while (text.charCodeAt(starEnd) === 42 /* * */) starEnd++;
      const left = tokenStart(text, star, Math.max(from, star - reach));
      const right = tokenEnd(text, starEnd, reach);
      // The longest known start of a secret right before the stars and known end right after them.
      let best = 0;
      let head = 0;
      let tail = 0;
      // A cheap test of the character next to the stars first: the slice and compare (which
      // allocate) run only where it matches, which keeps long runs of stars and text fast.
      const beforeStars = text.charCodeAt(star - 1);
      const afterStars = text.charCodeAt(starEnd);
      for (const n of this.needles) {
        let h = Math.min(star - left, n.length - 1);
        while (h > 0 && (n.charCodeAt(h - 1) !== beforeStars || !n.startsWith(text.slice(star - h, star)))) h--;
        let t = Math.min(right - starEnd, n.length - 1 - h);
        while (t > 0 && (n.charCodeAt(n.length - t) !== afterStars || !n.endsWith(text.slice(starEnd, starEnd + t)))) t--;
        if (h + t > best) [best, head, tail] = [h + t, h, t];
      }
      if (best >= MIN_MASKED) {
        out += text.slice(from, star - head) + REDACTED;
        from = starEnd + tail;
      }
      star = text.indexOf('***', Math.max(starEnd, from));
    }
    return from === 0 ? text : out + text.slice(from);
  }

  /** A start of a secret right before a `…` that cut it. */
  private cut(text: string): string {
    let out = '';
    let from = 0;
    let dots = text.indexOf('…');
    while (dots !== -1) {
      let hide = 0;
      const before = text.charCodeAt(dots - 1);
      for (const n of this.needles) {
        for (let k = Math.min(n.length - 1, dots - from); k >= MIN_CUT && k > hide; k--) {
          if (n.charCodeAt(k - 1) === before && text.startsWith(n.slice(0, k), dots - k)) {
            hide = k;
            break;
          }
        }
      }
      if (hide > 0) {
        out += text.slice(from, dots - hide) + REDACTED;
        from = dots;
      }
      dots = text.indexOf('…', dots + 1);
    }
    return from === 0 ? text : out + text.slice(from);
  }
}

/** Characters that end a token around a masked secret: whitespace, quotes, brackets, punctuation of prose. */
function isBoundary(c: number): boolean {
  return (
    c <= 32 ||
    c === 34 ||
    c === 39 ||
    c === 96 ||
    c === 40 ||
    c === 41 ||
    c === 60 ||
    c === 62 ||
    c === 91 ||
    c === 93 ||
    c === 123 ||
    c === 125 ||
    c === 44 ||
    c === 92
  );
}

function tokenStart(text: string, at: number, floor: number): number {
  let i = at;
  // A masked value is a short head; looking back further than a key is long is never needed.
  const stop = Math.max(floor, at - 256);
  while (i > stop && !isBoundary(text.charCodeAt(i - 1))) i--;
  return i;
}

function tokenEnd(text: string, at: number, reach: number): number {
  let i = at;
  const stop = Math.min(text.length, at + 256, at + reach);
  while (i < stop && !isBoundary(text.charCodeAt(i))) i++;
  return i;
}

const AUTH_SCHEME = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/;

/** Every spelling of a secret and of its meaningful parts that is worth hiding. */
export function secretParts(secret: string): string[] {
  if (secret.length === 0) return [];
  const parts = new Set<string>([secret]);
  const space = secret.indexOf(' ');
  if (space > 0) {
    const scheme = secret.slice(0, space);
    const credential = secret.slice(space + 1).trim();
    if (AUTH_SCHEME.test(scheme) && credential.length >= MIN_PART_LENGTH) {
      parts.add(credential);
      if (scheme.toLowerCase() === 'basic') {
        const decoded = Buffer.from(credential, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon !== -1 && Buffer.from(decoded, 'utf8').toString('base64').replace(/=+$/, '') === credential.replace(/=+$/, '')) {
          if (decoded.length >= MIN_PART_LENGTH) parts.add(decoded);
          const password = decoded.slice(colon + 1);
          if (password.length >= MIN_PART_LENGTH) parts.add(password);
        }
      }
    }
  }
  for (const p of [...parts]) {
    const json = JSON.stringify(p).slice(1, -1);
    if (json !== p) parts.add(json);
    const url = encodeURIComponent(p);
    if (url !== p) parts.add(url);
    const form = url.replace(/%20/g, '+');
    if (form !== url) parts.add(form);
  }
  return [...parts];
}

// One redactor per secrets list (a route keeps its list for its lifetime).
const byList = new WeakMap<readonly string[], Redactor>();

/** The redactor of a route's secrets list, built on first use. */
export function redactorOf(secrets: readonly string[]): Redactor {
  let r = byList.get(secrets);
  if (r === undefined) {
    r = new Redactor(secrets);
    byList.set(secrets, r);
  }
  return r;
}
