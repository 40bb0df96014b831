// Checksums and range rules that turn a regex candidate into a detection. Pure functions over the matched
// text: each says whether a value of that kind could have been issued, never whether it was.

/** Luhn (mod 10) over a digit string, as every payment card number carries. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefix ranges (first `digits` digits from `lo` to `hi`) with the lengths each scheme issues. */
const ISSUERS: readonly { digits: number; lo: number; hi: number; lengths: readonly number[] }[] = [
  { digits: 1, lo: 4, hi: 4, lengths: [13, 16, 19] }, // Visa
  { digits: 2, lo: 51, hi: 55, lengths: [16] }, // Mastercard
  { digits: 4, lo: 2221, hi: 2720, lengths: [16] }, // Mastercard 2-series
  { digits: 2, lo: 34, hi: 34, lengths: [15] }, // American Express
  { digits: 2, lo: 37, hi: 37, lengths: [15] },
  { digits: 4, lo: 6011, hi: 6011, lengths: [16, 17, 18, 19] }, // Discover
  { digits: 3, lo: 644, hi: 649, lengths: [16, 17, 18, 19] },
  { digits: 2, lo: 65, hi: 65, lengths: [16, 17, 18, 19] },
  { digits: 4, lo: 3528, hi: 3589, lengths: [16, 17, 18, 19] }, // JCB
  { digits: 3, lo: 300, hi: 305, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { digits: 2, lo: 36, hi: 36, lengths: [14, 15, 16, 17, 18, 19] },
  { digits: 2, lo: 38, hi: 39, lengths: [14, 15, 16, 17, 18, 19] },
  { digits: 2, lo: 62, hi: 62, lengths: [16, 17, 18, 19] }, // UnionPay
];

/**
 * Whether a number falls in a known issuer range with a length that issuer uses. A Luhn-valid number
 * outside these (one random digit run in ten passes Luhn) is an order or tracking number.
 */
export function cardIssuerKnown(digits: string): boolean {
  return ISSUERS.some((i) => {
    const prefix = Number(digits.slice(0, i.digits));
    return prefix >= i.lo && prefix <= i.hi && i.lengths.includes(digits.length);
  });
}

/** IBAN length by country (ISO 13616 registry), for the countries whose accounts a gateway meets most. */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AT: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  CH: 21,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  EE: 20,
  ES: 24,
  FI: 18,
  FR: 27,
  GB: 22,
  GI: 23,
  GR: 27,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IS: 26,
  IT: 27,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MT: 31,
  NL: 18,
  NO: 15,
  PL: 28,
  PT: 25,
  QA: 29,
  RO: 24,
  SA: 24,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  TR: 26,
  UA: 29,
};

/** ISO 7064 mod 97-10 over the compact IBAN (country and check digits moved to the end, letters as 10..35). */
export function ibanValid(compact: string): boolean {
  if (IBAN_LENGTHS[compact.slice(0, 2)] !== compact.length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const c = ch.charCodeAt(0);
    const v = c >= 65 ? c - 55 : c - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

/**
 * US SSN issuance rules: area 000, 666 and 900–999 were never issued, nor group 00 or serial 0000. Two
 * numbers printed on sample cards and in advertising are refused too; they are the ones people paste.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const whole = area + group + serial;
  return whole !== '078051120' && whole !== '219099999';
}

/** UK National Insurance number prefixes HMRC never allocates. */
const NINO_BAD_PREFIXES = new Set(['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ']);

export function ninoPrefixValid(prefix: string): boolean {
  return !NINO_BAD_PREFIXES.has(prefix);
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (8 digits) and NIE (X/Y/Z + 7 digits): the letter is the number mod 23. */
export function dniLetterValid(body: string, letter: string): boolean {
  const numeric = body.replace(/^[XYZ]/, (c) => String('XYZ'.indexOf(c)));
  return DNI_LETTERS[Number(numeric) % 23] === letter;
}

export function dniLetterFor(numeric: number): string {
  return DNI_LETTERS[numeric % 23]!;
}

/** Dutch BSN "elfproef": 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11, and not zero. */
export function bsnValid(digits: string): boolean {
  if (digits.length !== 9 || /^0+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (digits.charCodeAt(i) - 48);
  sum -= digits.charCodeAt(8) - 48;
  return sum % 11 === 0;
}

/** Shannon entropy in bits per character of the string's own symbol distribution. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
