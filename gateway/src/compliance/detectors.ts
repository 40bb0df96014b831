// PII and secret detectors: each finds regex candidates and keeps those that pass a validation a regex
// cannot express (checksums, issuance ranges, context). `detect` runs the enabled ones and resolves
// overlaps, so every character belongs to at most one span. Pure: text in, spans out; values never leave.
import { isIPv6 } from 'node:net';
import { PII_DETECTORS, type PiiDetector } from '../../../api/v1alpha1/compliance.js';
import {
  bsnValid,
  cardIssuerKnown,
  dniLetterValid,
  ibanValid,
  IBAN_LENGTHS,
  luhnValid,
  ninoPrefixValid,
  shannonEntropy,
  ssnValid,
} from './checksums.js';

/** The detectors, named once in the API (a route's `compliance.pii.detectors` lists them). */
export const DETECTORS = PII_DETECTORS;
export type DetectorName = PiiDetector;

export interface Span {
  start: number;
  end: number;
  detector: DetectorName;
}

type Find = (text: string) => Span[];

/** Every match of a global regex whose `accept` says yes; `accept` may narrow the span (IBAN does). */
function scan(
  re: RegExp,
  detector: DetectorName,
  accept: (m: RegExpExecArray, text: string) => boolean | { start: number; end: number },
): Find {
  return (text) => {
    const out: Span[] = [];
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const verdict = accept(m, text);
      if (verdict === true) out.push({ start: m.index, end: m.index + m[0].length, detector });
      else if (verdict !== false) out.push({ ...verdict, detector });
    }
    return out;
  };
}

const before = (text: string, at: number, n: number): string => text.slice(Math.max(0, at - n), at);

// Image and code file names ("icon@2x.png", "pkg@1.2.js") are shaped like addresses.
const FILE_TLDS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'js', 'ts', 'css', 'map', 'json']);
const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_AT = /(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/y;

/**
 * Anchored on "@" rather than scanned from every letter: a regex starting with the local part tries each
 * word of the prompt, which made e-mail the costliest detector on long prompts.
 */
function findEmail(text: string): Span[] {
  const out: Span[] = [];
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    while (start < at && !/[A-Za-z0-9]/.test(text[start]!)) start++; // the local part starts alphanumeric
    if (start === at || (start > 0 && LOCAL_CHAR.test(text[start - 1]!))) continue;
    if (text[at - 1] === '.' || text.slice(start, at).includes('..')) continue;
    DOMAIN_AT.lastIndex = at + 1;
    const domain = DOMAIN_AT.exec(text);
    if (domain === null) continue;
    if (FILE_TLDS.has(domain[0].slice(domain[0].lastIndexOf('.') + 1).toLowerCase())) continue;
    out.push({ start, end: at + 1 + domain[0].length, detector: 'email' });
  }
  return out;
}

// Phones: international numbers with a leading "+", and national formats that always carry separators
// (NANP, UK, FR, DE). A bare digit run is an order or ticket number far more often than a phone; those
// are left to the E.164 form. Boundaries refuse a preceding word, dot, slash or dash so dates, version
// strings and "ORD-555-123-4567" do not qualify.
const PHONE_RE = new RegExp(
  [
    String.raw`\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,5}\)?){2,6}`, // E.164, possibly grouped
    String.raw`(?:\+?1[ .-])?\([2-9]\d{2}\) ?[2-9]\d{2}[ .-]\d{4}`, // NANP (415) 555-0123
    String.raw`[2-9]\d{2}([ .-])[2-9]\d{2}\1\d{4}`, // NANP 415-555-0123, 415.555.0123
    String.raw`0[1-9]\d{1,3} \d{3,4} ?\d{3,4}`, // UK 020 7946 0958, 07700 900123
    String.raw`0[1-9](?:([ .])\d{2})(?:\2\d{2}){3}`, // FR 06 12 34 56 78
    String.raw`0[1-9]\d{1,4}[/ ]\d{5,8}`, // DE 030 12345678, 089/1234567
  ]
    .map((p) => `(?:${p})`)
    .join('|'),
  'g',
);
const findPhone = scan(
  // A digit group just before or after ("FR38 2894 3955 0124 2394 8483 916") means a longer number.
  new RegExp(String.raw`(?<![\w.+/-]|\d[ -])(?:${PHONE_RE.source})(?![\w-]|[.,:/]\d|[ -]\d)`, 'g'),
  'phone',
  (m) => {
    const digits = m[0].replace(/\D/g, '').length;
    if (m[0].startsWith('+')) return digits >= 8 && digits <= 15;
    return digits >= 10 && digits <= 12;
  },
);

const findCard = scan(/(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)/g, 'card', (m) => {
  const seps = m[0].match(/[ -]/g);
  if (seps && new Set(seps).size > 1) return false; // "4111 1111-1111 1111" is not how anyone writes one
  const digits = m[0].replace(/\D/g, '');
  return luhnValid(digits) && cardIssuerKnown(digits);
});

// The candidate may run into the next word ("DE89 3704 … 00 is mine"); the country length says where the
// IBAN ends, so the span is cut at that many alphanumerics.
const findIban = scan(/(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}/g, 'iban', (m) => {
  const length = IBAN_LENGTHS[m[0].slice(0, 2)];
  if (length === undefined) return false;
  let compact = '';
  let end = 0;
  for (let i = 0; i < m[0].length && compact.length < length; i++) {
    if (m[0][i] !== ' ') compact += m[0][i];
    end = i + 1;
  }
  const after = m[0].slice(end);
  if (compact.length < length || /^[A-Z0-9]/.test(after)) return false;
  return ibanValid(compact) ? { start: m.index, end: m.index + end } : false;
});

const findSsn = scan(/(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])/g, 'us_ssn', (m) =>
  ssnValid(m[1]!, m[3]!, m[4]!),
);

const findNino = scan(
  /(?<![\w])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w])/g,
  'uk_nino',
  (m) => ninoPrefixValid(m[1]!),
);

const findDni = scan(/(?<![\w-])([XYZ]-?\d{7}|\d{8})-?([A-Z])(?![\w-])/g, 'es_dni', (m) =>
  dniLetterValid(m[1]!.replace('-', ''), m[2]!),
);

// One random 9-digit run in eleven passes the elfproef, so a BSN counts only when named nearby.
const BSN_CONTEXT = /\b(?:bsn|burgerservicenummer|sofi-?nummer|citizen service number)\b[^\n]{0,30}$/i;
const findBsn = scan(/(?<![\w.-])\d{9}(?![\w-]|[.,]\d)/g, 'nl_bsn', (m, text) => {
  return bsnValid(m[0]) && BSN_CONTEXT.test(before(text, m.index, 60));
});

// "Chrome/120.0.0.1", "v1.2.3.4", "version 10.0.0.1", "upgrade from 4.15.3.2" are builds, not hosts; a
// network ("10.0.0.0/8") is a range, not anyone's address.
const VERSION_CONTEXT =
  /(?:\b(?:v|ver|version|release|build|rev|firmware)[\s:=]*|[A-Za-z][\w-]*\/|\b(?:upgrad|downgrad|roll(?:ed|ing)? back)\w*(?: (?:from|to))? )$/i;
const findIpv4 = scan(
  /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)/g,
  'ipv4',
  (m, text) =>
    !VERSION_CONTEXT.test(before(text, m.index, 24)) &&
    !/^\/(?:[0-9]|[12]\d|3[01])\b/.test(text.slice(m.index + m[0].length)),
);

// "a::b" and "dead::beef" parse as IPv6 too; C++ scopes and hex words are kept out by asking for three
// groups, or a leading "::" ("::1", "::ffff:10.0.0.1"). Anchored on ":" and grown over hex, colons and
// dots, for the same reason as e-mail: a regex starting with a hex digit tries almost every word.
const IPV6_CHAR = /[0-9A-Fa-f:.]/;
function findIpv6(text: string): Span[] {
  const out: Span[] = [];
  for (let colon = text.indexOf(':'); colon !== -1; colon = text.indexOf(':', colon + 1)) {
    let start = colon;
    while (start > 0 && IPV6_CHAR.test(text[start - 1]!)) start--;
    let end = colon + 1;
    while (end < text.length && IPV6_CHAR.test(text[end]!)) end++;
    colon = end - 1; // the run is judged once, whatever colons it holds
    while (text[start] === '.') start++;
    while (end > start && text[end - 1] === '.') end--;
    if ((start > 0 && /\w/.test(text[start - 1]!)) || (end < text.length && /\w/.test(text[end]!))) continue;
    const candidate = text.slice(start, end);
    if (candidate.indexOf(':') === candidate.lastIndexOf(':') || !isIPv6(candidate)) continue; // one colon: a label
    const groups = candidate.split(':').filter((g) => g !== '').length;
    if (groups >= 3 || candidate.startsWith('::')) out.push({ start, end, detector: 'ipv6' });
  }
  return out;
}

// Secrets with a documented prefix: their shape alone is evidence. Each runs only when its prefix occurs:
// `includes` is far cheaper than one regex alternation tried at every position.
const PREFIXED_SECRETS = (
  [
    ['sk-', /sk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{20,}/g], // Anthropic, OpenAI
    ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((p) => [p, new RegExp(`${p}[A-Za-z0-9]{36}`)] as const), // GitHub
    ['github_pat_', /github_pat_[A-Za-z0-9_]{22,}/g], // GitHub fine-grained
    ['xox', /xox[baprs]-[A-Za-z0-9-]{10,}/g], // Slack
    ['AKIA', /AKIA[0-9A-Z]{16}/g], // AWS access key id
    ['ASIA', /ASIA[0-9A-Z]{16}/g], // AWS temporary key id
    ['AIza', /AIza[0-9A-Za-z_-]{35}/g], // Google API key
    [
      'PRIVATE KEY-----',
      /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----/g,
    ],
  ] as const
).map(([prefix, re]) => [prefix, new RegExp(String.raw`(?<![\w-])(?:${re.source})(?![\w-])`, 'g')] as const);

function findPrefixedSecret(text: string): Span[] {
  const out: Span[] = [];
  for (const [prefix, re] of PREFIXED_SECRETS) {
    if (!text.includes(prefix)) continue;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      out.push({ start: m.index, end: m.index + m[0].length, detector: 'secret' });
    }
  }
  return out;
}

/** A JWT is three base64url segments whose first decodes to a JSON header naming an algorithm. */
const scanJwt = scan(
  /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}(?![\w-])/g,
  'secret',
  (m) => {
    try {
      const header: unknown = JSON.parse(
        Buffer.from(m[0].slice(0, m[0].indexOf('.')), 'base64url').toString(),
      );
      return typeof header === 'object' && header !== null && 'alg' in header;
    } catch {
      return false;
    }
  },
);
const findJwt = (text: string): Span[] => (text.includes('eyJ') ? scanJwt(text) : []);

/**
 * Unprefixed secrets: a 20–128 character token with upper case, lower case and digits, at least
 * ENTROPY_BITS bits per character, named as a credential just before it ("DB_PASSWORD=…", "api_key: …",
 * "Bearer …"). Hex digests, UUIDs and base64 payloads (data: URIs, blobs longer than 128) fail one of these
 * on purpose. The scan starts from the credential words, which are rare, rather than from every token.
 */
export const ENTROPY_BITS = 3.5;
const CREDENTIAL_WORD = /key|token|secret|passw(?:or)?d|pwd|auth(?:orization)?|bearer|credential/gi;
const TOKEN_AFTER = /\W{0,3}(?:[\w-]{0,12}\W{1,3})?([A-Za-z0-9_+/-]{20,128}={0,2})(?![\w+/=-])/y;
function findEntropySecret(text: string): Span[] {
  const out: Span[] = [];
  CREDENTIAL_WORD.lastIndex = 0;
  for (let w = CREDENTIAL_WORD.exec(text); w !== null; w = CREDENTIAL_WORD.exec(text)) {
    TOKEN_AFTER.lastIndex = w.index + w[0].length;
    const m = TOKEN_AFTER.exec(text);
    if (m === null) continue;
    const t = m[1]!;
    const start = TOKEN_AFTER.lastIndex - t.length;
    if (/[\w+/-]/.test(text[start - 1]!) || /base64,$/.test(text.slice(Math.max(0, start - 7), start)))
      continue;
    if (!/[a-z]/.test(t) || !/[A-Z]/.test(t) || !/\d/.test(t) || shannonEntropy(t) < ENTROPY_BITS) continue;
    out.push({ start, end: start + t.length, detector: 'secret' });
    CREDENTIAL_WORD.lastIndex = start + t.length;
  }
  return out;
}

const FINDERS: Readonly<Record<DetectorName, readonly Find[]>> = {
  email: [findEmail],
  phone: [findPhone],
  card: [findCard],
  iban: [findIban],
  us_ssn: [findSsn],
  uk_nino: [findNino],
  es_dni: [findDni],
  nl_bsn: [findBsn],
  ipv4: [findIpv4],
  ipv6: [findIpv6],
  secret: [findPrefixedSecret, findJwt, findEntropySecret],
};

/** Ties on length go to the detector that validates more (a checksum beats a shape). */
const SPECIFICITY: Readonly<Record<DetectorName, number>> = {
  secret: 10,
  card: 9,
  iban: 9,
  us_ssn: 8,
  uk_nino: 8,
  es_dni: 8,
  nl_bsn: 8,
  email: 7,
  ipv6: 6,
  ipv4: 6,
  phone: 1,
};

/** Keeps the longest span of each overlapping group (then the most specific), ordered by start. */
export function resolveOverlaps(spans: readonly Span[]): Span[] {
  const ranked = [...spans].sort(
    (a, b) =>
      b.end - b.start - (a.end - a.start) ||
      SPECIFICITY[b.detector] - SPECIFICITY[a.detector] ||
      a.start - b.start,
  );
  // Kept spans never overlap, so ordered by start they are ordered by end too: a candidate only needs
  // comparing with its two neighbours (a long prompt can hold hundreds of values).
  const kept: Span[] = [];
  for (const s of ranked) {
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kept[mid]!.start < s.start) lo = mid + 1;
      else hi = mid;
    }
    const prev = kept[lo - 1];
    const next = kept[lo];
    if ((prev === undefined || prev.end <= s.start) && (next === undefined || s.end <= next.start)) {
      kept.splice(lo, 0, s);
    }
  }
  return kept;
}

/** Runs the enabled detectors (all by default) and returns non-overlapping spans ordered by start. */
export function detect(text: string, enabled: Iterable<DetectorName> = DETECTORS): Span[] {
  const spans: Span[] = [];
  for (const name of enabled) for (const find of FINDERS[name]) spans.push(...find(text));
  return spans.length > 1 ? resolveOverlaps(spans) : spans;
}
