// Builds the labelled PII corpus (pii-corpus.json) from templates with values inserted at known offsets,
// so every label is true by construction, plus hand-written hard negatives. Fixed seed: the same corpus
// on every run, and a test fails when the JSON on disk is stale.
//   npx tsx gateway/src/compliance/testdata/make-corpus.ts
import { writeFileSync } from 'node:fs';
import type { DetectorName } from '../detectors.js';
import * as v from './corpus-values.js';
import { HARD_NEGATIVES } from './hard-negatives.js';

export const CORPUS_SEED = 20261130;
export const CORPUS_PATH = new URL('./pii-corpus.json', import.meta.url);

export interface LabelledSpan {
  start: number;
  end: number;
  detector: DetectorName;
}
export interface CorpusEntry {
  id: string;
  text: string;
  spans: LabelledSpan[];
}

type Slot = (r: v.Rng) => { value: string; detector: DetectorName | null };
const pii = (detector: DetectorName, gen: (r: v.Rng) => string): Slot => (r) => ({ value: gen(r), detector });
const noise = (gen: (r: v.Rng) => string): Slot => (r) => ({ value: gen(r), detector: null });

const SLOTS: Readonly<Record<string, Slot>> = {
  email: pii('email', v.email),
  phone: pii('phone', v.phone),
  barephone: pii('phone', v.bareNationalPhone), // labelled, and expected to be missed: honest recall
  card: pii('card', (r) => v.formatCard(r, v.cardDigits(r))),
  iban: pii('iban', (r) => v.formatIban(r, v.ibanCompact(r))),
  ssn: pii('us_ssn', v.ssn),
  nino: pii('uk_nino', v.nino),
  dni: pii('es_dni', v.dni),
  bsn: pii('nl_bsn', v.bsn),
  ipv4: pii('ipv4', v.ipv4),
  ipv6: pii('ipv6', v.ipv6),
  secret: pii('secret', v.prefixedSecret),
  pem: pii('secret', v.pemKey),
  token: pii('secret', v.randomToken),
  badcard: noise((r) => v.formatCard(r, v.cardDigits(r, false))),
  badiban: noise((r) => v.formatIban(r, v.ibanCompact(r, false))),
  badssn: noise(v.invalidSsn),
  baddni: noise((r) => v.dni(r, false)),
  badbsn: noise((r) => v.bsn(r, false)),
  uuid: noise(v.uuid),
  sha: noise((r) => v.sha(r, v.pick(r, [7, 40, 64]))),
  blob: noise((r) => v.base64Blob(r, v.int(r, 24, 90))),
  order: noise((r) => `${v.int(r, 1, 9)}${v.digits(r, v.int(r, 7, 11))}`),
  date: noise((r) => `${v.int(r, 2019, 2026)}-${String(v.int(r, 1, 12)).padStart(2, '0')}-${String(v.int(r, 1, 28)).padStart(2, '0')}`),
  version: noise((r) => `${v.int(r, 1, 30)}.${v.int(r, 0, 20)}.${v.int(r, 0, 9)}.${v.int(r, 0, 300)}`),
};

/** Templates per detector, in the styles prompts arrive in: tickets, logs, code, e-mail, other languages. */
const TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  email: [
    'Hi support, please send the invoice to {email} instead of my old address.',
    '2026-03-14T09:12:44Z WARN smtp bounce for recipient={email} code=550',
    "const ADMIN = '{email}'; // TODO move to config",
    'From: {email}\nTo: {email}\nSubject: refund for order {order}',
    'Can you rewrite this so it sounds friendlier? "Dear {email}, your account is locked."',
    'Bitte schreiben Sie an {email}, wenn die Lieferung ankommt.',
    'Merci de contacter {email} avant le {date}.',
    'git log shows Author: Jane <{email}> on commit {sha}',
  ],
  phone: [
    'Customer called from {phone} about ticket {order}, please call back.',
    'Summarise this voicemail: "hi it is Mark, reach me on {phone} after 5pm"',
    'user_profile = {"name": "Ana", "phone": "{phone}", "created": "{date}"}',
    'Mi número es {phone}, llámame mañana por favor.',
    'Rufen Sie mich unter {phone} zurück, Bestellung {order}.',
    'Vous pouvez me joindre au {phone} ou par e-mail.',
    'Escalation contact for the outage: {phone} (on-call), runbook v{version}',
    'Translate to Japanese: Our office number is {phone}.',
    'He left his number, {barephone}, with the front desk.',
  ],
  card: [
    'I was charged twice on my card {card}, can you refund one of the payments?',
    'payment failed: card={card} amount=42.00 EUR order={order}',
    'test("charges the card", () => pay("{card}", 1999));',
    'Meine Kreditkarte {card} wurde gesperrt, was soll ich tun?',
    'Please check why card ending in the number {card} was declined on {date}.',
    'Mi tarjeta {card} caduca pronto.',
  ],
  iban: [
    'Please wire the refund to {iban}, account holder Maria Rossi.',
    'Überweisen Sie den Betrag bitte auf {iban} bis zum {date}.',
    'supplier.iban = "{iban}"',
    'Virement vers {iban} refusé, pouvez-vous vérifier ?',
    'Payroll export row: Jansen;{iban};2450.00',
    'Can you validate this IBAN for me: {iban}',
  ],
  ssn: [
    'My SSN is {ssn}, please update my tax form.',
    'Fix this SQL: INSERT INTO employees (name, ssn) VALUES (\'Bob\', \'{ssn}\');',
    'Applicant record {order}: DOB 1984-02-11, SSN {ssn}, status pending',
    'Draft a letter to the IRS mentioning taxpayer id {ssn}.',
  ],
  nino: [
    'My National Insurance number is {nino}, can you fill in the HMRC form?',
    'employee.ni_number = "{nino}"',
    'Payslip for March: NI {nino}, tax code 1257L',
    'Check whether {nino} looks like a valid NINO.',
  ],
  dni: [
    'Mi DNI es {dni} y necesito cambiar la dirección de envío.',
    'cliente: { nombre: "Lucía", documento: "{dni}" }',
    'Factura a nombre de Javier Ruiz, NIF {dni}, pedido {order}.',
    'Please translate: "Adjunto copia del documento {dni}."',
  ],
  bsn: [
    'Mijn BSN is {bsn}, kunt u mijn gegevens aanpassen?',
    'patient.bsn = "{bsn}"',
    'Burgerservicenummer: {bsn} (zie bijlage)',
    'Validate this citizen service number {bsn} for the form.',
  ],
  ipv4: [
    'Connection refused from {ipv4} to the database on port 5432.',
    '{ipv4} - - [14/Mar/2026:10:02:11 +0000] "GET /v1/models HTTP/1.1" 200 512',
    'curl -s http://{ipv4}:8080/healthz returns 503, why?',
    'Block {ipv4} in the firewall, it hammered the login endpoint.',
    'upstream timed out (110) while connecting to upstream, client: {ipv4}, server: api',
    'Der Server {ipv4} antwortet nicht mehr.',
  ],
  ipv6: [
    'Our pod got address {ipv6} but cannot reach the gateway.',
    'listen [{ipv6}]:443 ssl; # why does nginx fail to bind?',
    'sshd: Failed password for root from {ipv6} port 52144',
    'Is {ipv6} a link-local or a global address?',
  ],
  secret: [
    'Why does this fail? client = OpenAI(api_key="{secret}")',
    'export TOKEN={secret}',
    'Here is my config, it returns 401:\nAuthorization: Bearer {secret}',
    'I accidentally committed {secret} to the repo, how do I rotate it?',
    'Decode this for me: {secret}',
    'Fix the permission error with this key:\n{pem}',
    'DB_PASSWORD={token}\nDB_HOST=db.internal',
    'The api_key is {token} but requests still fail.',
    '"secret": "{token}",',
    'Use {token} to log in to the staging box.',
  ],
};

/** Hard negatives built from generated near-misses: checksums that fail, ids shaped like PII. */
const NEGATIVE_TEMPLATES: readonly string[] = [
  'Order {order} was shipped on {date}, tracking attached.',
  'Card number {badcard} fails validation in the checkout form; is the regex wrong?',
  'The IBAN {badiban} is rejected by the bank, please double-check.',
  'Request id {uuid} took 2.3s, trace attached.',
  'Commit {sha} broke the build on {date}.',
  'Upgrade from {version} to the latest release fixed it.',
  'thumbnail: "data:image/png;base64,{blob}"',
  'The fixture uses the invalid SSN {badssn} on purpose.',
  'El documento {baddni} tiene la letra equivocada.',
  'Artikelnummer {badbsn} is niet meer leverbaar.',
  'payload={blob}',
  'sha256sum: {sha}  release.tar.gz',
];

function fill(template: string, r: v.Rng, id: string): CorpusEntry {
  let text = '';
  const spans: LabelledSpan[] = [];
  let at = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const slot = SLOTS[m[1]!];
    text += template.slice(at, m.index);
    at = m.index + m[0].length;
    if (slot === undefined) {
      text += m[0]; // literal braces in code snippets
      continue;
    }
    const { value, detector } = slot(r);
    if (detector !== null) spans.push({ start: text.length, end: text.length + value.length, detector });
    text += value;
  }
  return { id, text: text + template.slice(at), spans };
}

export function buildCorpus(seed = CORPUS_SEED): CorpusEntry[] {
  const r = v.seeded(seed);
  const out: CorpusEntry[] = [];
  for (const [group, templates] of Object.entries(TEMPLATES)) {
    const perGroup = group === 'secret' || group === 'phone' ? 50 : 30;
    for (let i = 0; i < perGroup; i++) out.push(fill(templates[i % templates.length]!, r, `${group}-${i}`));
  }
  for (let i = 0; i < 72; i++) out.push(fill(NEGATIVE_TEMPLATES[i % NEGATIVE_TEMPLATES.length]!, r, `near-miss-${i}`));
  HARD_NEGATIVES.forEach((text, i) => out.push({ id: `hard-negative-${i}`, text, spans: [] }));
  return out;
}

if (process.argv[1]?.endsWith('make-corpus.ts')) {
  const corpus = buildCorpus();
  writeFileSync(CORPUS_PATH, JSON.stringify({ seed: CORPUS_SEED, entries: corpus }, null, 2) + '\n');
  console.log(`Wrote ${corpus.length} entries to ${CORPUS_PATH.pathname}`);
}
