import {
  bsnValid,
  cardIssuerKnown,
  dniLetterValid,
  ibanValid,
  luhnValid,
  shannonEntropy,
  ssnValid,
} from './checksums.js';
import { detect, resolveOverlaps, type DetectorName } from './detectors.js';

/** What one detector finds in a text, as the matched substrings. */
function found(text: string, detector: DetectorName): string[] {
  return detect(text, [detector]).map((s) => text.slice(s.start, s.end));
}

/** Everything found with all detectors on, as "detector:value". */
function all(text: string): string[] {
  return detect(text).map((s) => `${s.detector}:${text.slice(s.start, s.end)}`);
}

describe('checksums', () => {
  it('accepts Luhn-valid numbers and refuses a changed digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('0')).toBe(true);
  });

  it('knows issuer ranges with their lengths', () => {
    expect(cardIssuerKnown('4111111111111111')).toBe(true);
    expect(cardIssuerKnown('2221000000000009')).toBe(true);
    expect(cardIssuerKnown('2720990000000007')).toBe(true);
    expect(cardIssuerKnown('2721000000000000')).toBe(false);
    expect(cardIssuerKnown('378282246310005')).toBe(true);
    expect(cardIssuerKnown('3782822463100050')).toBe(false); // Amex is 15 digits
    expect(cardIssuerKnown('9111111111111111')).toBe(false);
  });

  it('validates IBAN length per country and mod 97', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('NL91ABNA0417164300')).toBe(true);
    expect(ibanValid('DE88370400440532013000')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false);
    expect(ibanValid('XX89370400440532013000')).toBe(false);
  });

  it('refuses SSNs from never-issued ranges', () => {
    expect(ssnValid('123', '45', '6789')).toBe(true);
    for (const [a, g, s] of [
      ['000', '12', '3456'],
      ['666', '12', '3456'],
      ['900', '12', '3456'],
      ['123', '00', '3456'],
      ['123', '45', '0000'],
      ['078', '05', '1120'],
    ] as const) {
      expect(ssnValid(a, g, s)).toBe(false);
    }
  });

  it('checks the DNI and NIE letter', () => {
    expect(dniLetterValid('12345678', 'Z')).toBe(true);
    expect(dniLetterValid('12345678', 'A')).toBe(false);
    expect(dniLetterValid('X1234567', 'L')).toBe(true);
    expect(dniLetterValid('Y1234567', 'X')).toBe(true);
    expect(dniLetterValid('Y1234567', 'L')).toBe(false);
  });

  it('applies the BSN elfproef and refuses all zeros', () => {
    expect(bsnValid('111222333')).toBe(true);
    expect(bsnValid('123456782')).toBe(true);
    expect(bsnValid('123456789')).toBe(false);
    expect(bsnValid('000000000')).toBe(false);
  });

  it('measures entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});

describe('detectors', () => {
  it('finds e-mail addresses but not file names or broken ones', () => {
    expect(found('write to Jane.Doe+tag@mail.example.co.uk.', 'email')).toEqual([
      'Jane.Doe+tag@mail.example.co.uk',
    ]);
    expect(found('icon@2x.png, lodash@4.17.21, a..b@example.com, user at example dot com', 'email')).toEqual(
      [],
    );
  });

  it('finds international and national phones but not dates, versions or order numbers', () => {
    expect(
      found(
        '+1 415 555 0123, +14155550123, (415) 555-0123, 415.555.0123, 020 7946 0958, 06 12 34 56 78',
        'phone',
      ),
    ).toEqual([
      '+1 415 555 0123',
      '+14155550123',
      '(415) 555-0123',
      '415.555.0123',
      '020 7946 0958',
      '06 12 34 56 78',
    ]);
    expect(
      found('on 2026-03-14, v4.12.1, order 4155550123, ORD-415-555-0123, 12:30:45, 1.2.3.4.5', 'phone'),
    ).toEqual([]);
    expect(found('+1234', 'phone')).toEqual([]); // too short for E.164
  });

  it('finds Luhn-valid cards of known issuers in the usual groupings', () => {
    expect(found('4111 1111 1111 1111 / 5500-0000-0000-0004 / 378282246310005', 'card')).toEqual([
      '4111 1111 1111 1111',
      '5500-0000-0000-0004',
      '378282246310005',
    ]);
    expect(found('4111 1111 1111 1112', 'card')).toEqual([]); // Luhn fails
    expect(luhnValid('9111111111111110') && luhnValid('1234567812345670')).toBe(true);
    expect(found('9111 1111 1111 1110', 'card')).toEqual([]); // Luhn passes, no issuer
    expect(found('1234567812345670', 'card')).toEqual([]); // Luhn passes, no issuer
    expect(found('4111 1111-1111 1111', 'card')).toEqual([]); // mixed separators
  });

  it('finds IBANs grouped or compact and ends them at the country length', () => {
    expect(found('pay DE89 3704 0044 0532 0130 00 now', 'iban')).toEqual(['DE89 3704 0044 0532 0130 00']);
    expect(found('GB82WEST12345698765432', 'iban')).toEqual(['GB82WEST12345698765432']);
    expect(found('DE88 3704 0044 0532 0130 00', 'iban')).toEqual([]); // check digits wrong
    expect(found('DE89370400440532013000123', 'iban')).toEqual([]); // runs on past the length
  });

  it('finds SSNs with separators only, within issued ranges', () => {
    expect(found('SSN 123-45-6789 and 123 45 6789', 'us_ssn')).toEqual(['123-45-6789', '123 45 6789']);
    expect(found('666-12-3456 900-12-3456 123-00-6789 123456789 123-45-678', 'us_ssn')).toEqual([]);
  });

  it('finds UK NINOs and refuses unallocated prefixes and letters', () => {
    expect(found('NI AB123456C or AB 12 34 56 C', 'uk_nino')).toEqual(['AB123456C', 'AB 12 34 56 C']);
    expect(found('GB123456A QQ123456C AB123456E DA123456A', 'uk_nino')).toEqual([]);
  });

  it('finds DNI and NIE with the right letter only', () => {
    expect(found('DNI 12345678Z, NIE X-1234567-L', 'es_dni')).toEqual(['12345678Z', 'X-1234567-L']);
    expect(found('12345678A X1234567A', 'es_dni')).toEqual([]);
  });

  it('finds a BSN only when it is named nearby', () => {
    expect(found('Mijn BSN is 111222333.', 'nl_bsn')).toEqual(['111222333']);
    expect(found('order 111222333 shipped', 'nl_bsn')).toEqual([]);
    expect(found('BSN: 123456789', 'nl_bsn')).toEqual([]);
  });

  it('finds IPv4 hosts but not versions, user agents or networks', () => {
    expect(found('from 10.0.0.1:443 and http://192.168.1.10/x, 0.0.0.0.', 'ipv4')).toEqual([
      '10.0.0.1',
      '192.168.1.10',
      '0.0.0.0',
    ]);
    expect(
      found('v1.2.3.4 Chrome/120.0.0.1 version 10.0.0.1 256.1.1.1 01.2.3.4 1.2.3.4.5 10.0.0.0/8', 'ipv4'),
    ).toEqual([]);
  });

  it('finds IPv6 addresses, embedded IPv4 included, but not scopes, MACs or times', () => {
    expect(found('[2001:db8::1:2]:443 fe80::1ff:fe23:4567:890a ::1 ::ffff:192.0.2.1', 'ipv6')).toEqual([
      '2001:db8::1:2',
      'fe80::1ff:fe23:4567:890a',
      '::1',
      '::ffff:192.0.2.1',
    ]);
    expect(found('std::vector dead::beef 00:1A:2B:3C:4D:5E 12:30:45', 'ipv6')).toEqual([]);
  });

  it('finds prefixed secrets, JWTs and PEM keys', () => {
    const jwtHeader = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const payload = Buffer.from('{"sub":"1"}').toString('base64url');
    const jwt = `${jwtHeader}.${payload}.abcdefghijklmnop`;
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----';
    const text = [
      'sk-proj-abcdefghijklmnopqrstuvwx123',
      'sk-ant-api03-abcdefghijklmnopqrstuvwxyz',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'github_pat_11ABCDEFGHIJKLMNOPQRSTUV_xyz',
      'xoxb-1234567890-abcdef',
      'AKIAIOSFODNN7EXAMPLE',
      'AIzaSyA1234567890abcdefghijklmnopqrstuv',
      jwt,
      pem,
    ].join(' ');
    expect(found(text, 'secret')).toHaveLength(9);
    expect(
      found(`${jwt.replace(jwtHeader, Buffer.from('{"x":1}').toString('base64url'))}`, 'secret'),
    ).toEqual([]);
    expect(found('sk-... ghp_short AKIA keys', 'secret')).toEqual([]);
  });

  it('finds unprefixed high-entropy tokens only when named as credentials', () => {
    expect(found('DB_PASSWORD=Xk9fP2qLm8ZrT4vB7nW1q', 'secret')).toEqual(['Xk9fP2qLm8ZrT4vB7nW1q']);
    expect(found('run Xk9fP2qLm8ZrT4vB7nW1q now', 'secret')).toEqual([]);
    expect(found('token=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA1', 'secret')).toEqual([]); // low entropy
    expect(found('token=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b', 'secret')).toEqual([]); // hex digest
  });
});

describe('resolveOverlaps', () => {
  it('keeps the longest span, then the most specific detector', () => {
    expect(
      resolveOverlaps([
        { start: 0, end: 10, detector: 'phone' },
        { start: 2, end: 20, detector: 'card' },
        { start: 20, end: 30, detector: 'phone' },
        { start: 20, end: 30, detector: 'nl_bsn' },
      ]),
    ).toEqual([
      { start: 2, end: 20, detector: 'card' },
      { start: 20, end: 30, detector: 'nl_bsn' },
    ]);
  });

  it('gives an embedded IPv4 to the IPv6 address around it', () => {
    expect(all('from ::ffff:192.0.2.1 port 22')).toEqual(['ipv6:::ffff:192.0.2.1']);
  });

  it('reads a secret containing a phone-like run as one secret', () => {
    expect(all('api_key: Ab3dEf6hIj9kLm2nOp5qRs8t +14155550123')).toEqual([
      'secret:Ab3dEf6hIj9kLm2nOp5qRs8t',
      'phone:+14155550123',
    ]);
  });
});
