// Value generators for the labelled PII corpus: every value is produced valid by construction (checksums
// computed, ranges respected) or invalid on purpose for the hard negatives. Seeded, so the corpus is the
// same on every run.
import { dniLetterFor, IBAN_LENGTHS } from '../checksums.js';

export type Rng = () => number;

/** mulberry32: small, fast, and good enough to pick template slots. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const digits = (r: Rng, n: number): string => Array.from({ length: n }, () => int(r, 0, 9)).join('');
const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const chars = (r: Rng, alphabet: string, n: number): string =>
  Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const FIRST = ['john', 'maria', 'li.wei', 'ahmed', 'sofia', 'j.smith', 'anna-lena', 'pierre', 'kenji', 'olga'];
const LAST = ['doe', 'garcia', 'chen', 'khan', 'rossi', 'mueller', 'dubois', 'tanaka', 'novak', 'silva'];
const DOMAINS = ['example.com', 'acme.io', 'mail.example.org', 'corp.acme.co.uk', 'gmx.de', 'orange.fr', 'uni-bonn.de'];

export function email(r: Rng): string {
  const local = pick(r, [
    `${pick(r, FIRST)}.${pick(r, LAST)}`,
    `${pick(r, FIRST)}${int(r, 1, 99)}`,
    `${pick(r, FIRST)}+${pick(r, ['billing', 'test', 'news'])}`,
    `${pick(r, LAST)}_${pick(r, FIRST)}`,
  ]);
  return `${r() < 0.1 ? local.toUpperCase() : local}@${pick(r, DOMAINS)}`;
}

/** A phone number in one of the formats people type: international, NANP, UK, FR, DE, ES, NL, JP. */
export function phone(r: Rng): string {
  const a = int(r, 2, 9);
  const nanp = `${a}${digits(r, 2)}`;
  const ex = `${int(r, 2, 9)}${digits(r, 2)}`;
  const line = digits(r, 4);
  return pick(r, [
    `+1 ${nanp} ${ex} ${line}`,
    `+1${nanp}${ex}${line}`,
    `+1-${nanp}-${ex}-${line}`,
    `(${nanp}) ${ex}-${line}`,
    `${nanp}-${ex}-${line}`,
    `${nanp}.${ex}.${line}`,
    `+44 20 ${digits(r, 4)} ${digits(r, 4)}`,
    `+44 7700 ${digits(r, 6)}`,
    `020 ${int(r, 3, 8)}${digits(r, 3)} ${digits(r, 4)}`,
    `07${int(r, 4, 9)}${digits(r, 2)} ${digits(r, 6)}`,
    `+49 30 ${digits(r, 8)}`,
    `030 ${digits(r, 8)}`,
    `089/${digits(r, 7)}`,
    `+33 6 ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)}`,
    `0${int(r, 1, 7)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)}`,
    `0${int(r, 1, 7)}.${digits(r, 2)}.${digits(r, 2)}.${digits(r, 2)}.${digits(r, 2)}`,
    `+34 6${digits(r, 2)} ${digits(r, 3)} ${digits(r, 3)}`,
    `+31 6 ${digits(r, 8)}`,
    `+81 3-${digits(r, 4)}-${digits(r, 4)}`,
  ]);
}

/** A number a person writes as a phone but without any separator: expected to be missed. */
export function bareNationalPhone(r: Rng): string {
  return pick(r, [`${int(r, 2, 9)}${digits(r, 2)}${int(r, 2, 9)}${digits(r, 6)}`, `07${int(r, 4, 9)}${digits(r, 8)}`]);
}

export function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function cardDigits(r: Rng, valid = true): string {
  const [prefix, len] = pick(r, [
    ['4', 16],
    ['4', 16],
    ['5' + int(r, 1, 5), 16],
    ['2' + int(r, 221, 720), 16],
    ['3' + pick(r, ['4', '7']), 15],
    ['6011', 16],
    ['35' + int(r, 28, 89), 16],
    ['62', 16],
  ] as const);
  const body = prefix + digits(r, len - prefix.length - 1);
  const check = luhnDigit(body);
  return body + (valid ? check : String((Number(check) + int(r, 1, 9)) % 10));
}

export function formatCard(r: Rng, d: string): string {
  if (d.length === 15) return pick(r, [`${d.slice(0, 4)} ${d.slice(4, 10)} ${d.slice(10)}`, d]);
  const sep = pick(r, [' ', '-', '']);
  return d.match(/.{4}/g)!.join(sep);
}

const BBAN: Readonly<Record<string, (r: Rng) => string>> = {
  DE: (r) => digits(r, 18),
  GB: (r) => chars(r, UPPER, 4) + digits(r, 14),
  NL: (r) => chars(r, UPPER, 4) + digits(r, 10),
  FR: (r) => digits(r, 23),
  ES: (r) => digits(r, 20),
  IT: (r) => chars(r, UPPER, 1) + digits(r, 22),
  BE: (r) => digits(r, 12),
  CH: (r) => digits(r, 17),
  AT: (r) => digits(r, 16),
  PL: (r) => digits(r, 24),
};

function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    rem = c >= 65 ? (rem * 100 + c - 55) % 97 : (rem * 10 + c - 48) % 97;
  }
  return rem;
}

export function ibanCompact(r: Rng, valid = true): string {
  const country = pick(r, Object.keys(BBAN));
  const bban = BBAN[country]!(r);
  const check = 98 - mod97(bban + country + '00');
  const digitsCheck = valid ? check : ((check + int(r, 1, 50)) % 97) + 2;
  const iban = country + pad(digitsCheck, 2) + bban;
  if (iban.length !== IBAN_LENGTHS[country]) throw new Error(`bad BBAN length for ${country}`);
  return iban;
}

export const formatIban = (r: Rng, compact: string): string =>
  r() < 0.5 ? compact : compact.match(/.{1,4}/g)!.join(' ');

export function ssn(r: Rng): string {
  const area = pick(r, [int(r, 1, 665), int(r, 667, 899)]);
  const sep = r() < 0.85 ? '-' : ' ';
  return `${pad(area, 3)}${sep}${pad(int(r, 1, 99), 2)}${sep}${pad(int(r, 1, 9999), 4)}`;
}

export function invalidSsn(r: Rng): string {
  return pick(r, [
    `000-${pad(int(r, 1, 99), 2)}-${pad(int(r, 1, 9999), 4)}`,
    `666-${pad(int(r, 1, 99), 2)}-${pad(int(r, 1, 9999), 4)}`,
    `9${digits(r, 2)}-${pad(int(r, 1, 99), 2)}-${pad(int(r, 1, 9999), 4)}`,
    `${pad(int(r, 1, 665), 3)}-00-${pad(int(r, 1, 9999), 4)}`,
    `${pad(int(r, 1, 665), 3)}-${pad(int(r, 1, 99), 2)}-0000`,
  ]);
}

export function nino(r: Rng): string {
  const first = 'ABCEGHJKLMNOPRSTWXYZ';
  const second = 'ABCEGHJKLMNPRSTWXYZ';
  let prefix = '';
  do prefix = pick(r, [...first]) + pick(r, [...second]);
  while (['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'].includes(prefix));
  const d = digits(r, 6);
  const suffix = pick(r, ['A', 'B', 'C', 'D']);
  return r() < 0.5 ? `${prefix}${d}${suffix}` : `${prefix} ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4)} ${suffix}`;
}

export function dni(r: Rng, valid = true): string {
  const isNie = r() < 0.35;
  const n = isNie ? int(r, 0, 9999999) : int(r, 1000000, 99999999);
  const lead = isNie ? pick(r, ['X', 'Y', 'Z']) : '';
  const numeric = isNie ? Number(String('XYZ'.indexOf(lead)) + pad(n, 7)) : n;
  const right = dniLetterFor(numeric);
  const letter = valid ? right : pick(r, [...'TRWAGMYFPDXBNJZSQVHLCKE'].filter((c) => c !== right));
  const body = isNie ? `${lead}${pad(n, 7)}` : pad(n, 8);
  return r() < 0.2 ? `${body}-${letter}` : `${body}${letter}`;
}

export function bsn(r: Rng, valid = true): string {
  for (;;) {
    const d = digits(r, 9);
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += (9 - i) * Number(d[i]);
    sum -= Number(d[8]);
    if ((sum % 11 === 0) === valid && !/^0+$/.test(d)) return d;
  }
}

export function ipv4(r: Rng): string {
  return pick(r, [
    `10.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`,
    `192.168.${int(r, 0, 255)}.${int(r, 1, 254)}`,
    `172.${int(r, 16, 31)}.${int(r, 0, 255)}.${int(r, 1, 254)}`,
    `${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`,
  ]);
}

const hex = (r: Rng, n: number): string => chars(r, '0123456789abcdef', n);

export function ipv6(r: Rng): string {
  const g = (): string => hex(r, int(r, 1, 4)).replace(/^0+(?=.)/, '');
  return pick(r, [
    `2001:db8:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}`,
    `2001:db8::${g()}:${g()}`,
    `fe80::${g()}:${g()}:${g()}:${g()}`,
    `2a02:${g()}:${g()}::${g()}`,
    `::ffff:192.0.2.${int(r, 1, 254)}`,
    `${hex(r, 4)}:${hex(r, 4)}:${hex(r, 4)}:${hex(r, 4)}:${hex(r, 4)}:${hex(r, 4)}:${hex(r, 4)}:${hex(r, 4)}`,
  ]);
}

const b64url = (s: string): string => Buffer.from(s).toString('base64url');

export function jwt(r: Rng): string {
  const header = b64url(JSON.stringify({ alg: pick(r, ['HS256', 'RS256', 'ES256']), typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: digits(r, 8), name: pick(r, FIRST), iat: 1700000000 + int(r, 0, 9e6) }));
  return `${header}.${payload}.${chars(r, ALNUM + '-_', 43)}`;
}

export function prefixedSecret(r: Rng): string {
  return pick(r, [
    `sk-proj-${chars(r, ALNUM + '-_', 48)}`,
    `sk-${chars(r, ALNUM, 48)}`,
    `sk-ant-api03-${chars(r, ALNUM + '-_', 93)}AA`,
    `ghp_${chars(r, ALNUM, 36)}`,
    `github_pat_11${chars(r, UPPER + '0123456789', 20)}_${chars(r, ALNUM, 59)}`,
    `xoxb-${digits(r, 12)}-${digits(r, 13)}-${chars(r, ALNUM, 24)}`,
    `xoxp-${digits(r, 12)}-${digits(r, 12)}-${digits(r, 13)}-${hex(r, 32)}`,
    `AKIA${chars(r, UPPER + '234567', 16)}`,
    `AIza${chars(r, ALNUM + '-_', 35)}`,
    jwt(r),
  ]);
}

export function pemKey(r: Rng): string {
  const kind = pick(r, ['RSA ', 'EC ', 'OPENSSH ', '']);
  const lines = Array.from({ length: int(r, 2, 4) }, () => chars(r, ALNUM + '+/', 64));
  return `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join('\n')}\n-----END ${kind}PRIVATE KEY-----`;
}

/** An unprefixed random credential (a database password, an internal API token). */
export function randomToken(r: Rng): string {
  for (;;) {
    const t = chars(r, ALNUM, int(r, 24, 40));
    if (/[a-z]/.test(t) && /[A-Z]/.test(t) && /\d/.test(t)) return t;
  }
}

export const uuid = (r: Rng): string => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
export const sha = (r: Rng, n = 40): string => hex(r, n);
export const base64Blob = (r: Rng, n: number): string =>
  Buffer.from(Array.from({ length: n }, () => int(r, 0, 255))).toString('base64');
