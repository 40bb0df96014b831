import { redactChatRequest } from './chat-request.js';
import {
  activeDetectors,
  newRedactionState,
  policyFor,
  redactText,
  restore,
  StreamRestorer,
  type DetectorPolicy,
  type PolicyByBackendClass,
} from './redact.js';

const REDACT_ALL: DetectorPolicy = { default: 'redact' };
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';

function redacted(text: string, policy: DetectorPolicy = REDACT_ALL, state = newRedactionState()) {
  const r = redactText(text, policy, state);
  if (r.kind !== 'redacted') throw new Error(`expected redaction, got blocked by ${r.detectors.join(',')}`);
  return { ...r, restore: state.restore };
}

describe('redactText', () => {
  it('replaces each value with a placeholder numbered per detector', () => {
    const r = redacted(`Mail ${EMAIL} or bob@example.org, card ${CARD}.`);
    expect(r.text).toBe('Mail [EMAIL_1] or [EMAIL_2], card [CARD_1].');
    expect(r.counts).toEqual({ email: 2, card: 1 });
  });

  it('gives the same value the same placeholder within a request, across texts', () => {
    const state = newRedactionState();
    const a = redacted(`to ${EMAIL}, cc ${EMAIL}`, REDACT_ALL, state);
    const b = redacted(`reply to ${EMAIL} and ann@example.org`, REDACT_ALL, state);
    expect(a.text).toBe('to [EMAIL_1], cc [EMAIL_1]');
    expect(b.text).toBe('reply to [EMAIL_1] and [EMAIL_2]');
    expect(state.restore.size).toBe(2);
  });

  it('returns the text itself when nothing is found', () => {
    const text = 'Summarise the release notes for 4.12.1.';
    expect(redacted(text).text).toBe(text);
  });

  it('restores exactly the original text', () => {
    const text = `Hi, I am ${EMAIL}, SSN 123-45-6789, IBAN DE89 3704 0044 0532 0130 00, key sk-proj-abcdefghijklmnopqrstuvwx123.`;
    const r = redacted(text);
    expect(r.text).not.toContain('example.com');
    expect(restore(r.text, r.restore)).toBe(text);
  });

  it('leaves placeholders the map does not know, such as ones the model invented', () => {
    const r = redacted(`mail ${EMAIL}`);
    expect(restore('[EMAIL_1] and [EMAIL_7] and [x]', r.restore)).toBe(`${EMAIL} and [EMAIL_7] and [x]`);
  });

  it('blocks on a blocking detector, naming it and not the value', () => {
    const policy: DetectorPolicy = { default: 'redact', detectors: { card: 'block', us_ssn: 'block' } };
    const state = newRedactionState();
    const r = redactText(`mail ${EMAIL}, card ${CARD}`, policy, state);
    expect(r).toEqual({ kind: 'blocked', detectors: ['card'] });
    expect(JSON.stringify(r)).not.toContain('4111');
    expect(state.restore.size).toBe(0);
  });

  it('leaves allowed detectors alone and does not run them', () => {
    const policy: DetectorPolicy = { default: 'allow', detectors: { card: 'redact' } };
    expect(activeDetectors(policy)).toEqual(['card']);
    expect(redacted(`mail ${EMAIL}, card ${CARD}`, policy).text).toBe(`mail ${EMAIL}, card [CARD_1]`);
    expect(redacted(`card ${CARD}`, { default: 'allow' }).text).toBe(`card ${CARD}`);
  });

  it('picks the policy of the backend class', () => {
    const policies: PolicyByBackendClass = {
      'in-cluster': { default: 'allow' },
      hosted: { default: 'redact', detectors: { secret: 'block' } },
    };
    expect(redactText(`card ${CARD}`, policyFor(policies, 'in-cluster'))).toMatchObject({
      text: `card ${CARD}`,
    });
    expect(redactText(`card ${CARD}`, policyFor(policies, 'hosted'))).toMatchObject({
      text: 'card [CARD_1]',
    });
    expect(() => policyFor(policies, 'edge' as never)).toThrow('unknown backend class edge');
  });
});

describe('StreamRestorer', () => {
  const original = `Dear ${EMAIL}, your card ${CARD} is on file; write to ${EMAIL} again.`;
  const { text: answer, restore: map } = redacted(original);

  function streamed(chunks: string[]): { out: string; emitted: string[] } {
    const s = new StreamRestorer(map);
    const emitted = chunks.map((c) => s.push(c));
    emitted.push(s.flush());
    return { out: emitted.join(''), emitted };
  }

  it('restores a placeholder split across two chunks at every position', () => {
    for (let i = 0; i <= answer.length; i++) {
      expect(streamed([answer.slice(0, i), answer.slice(i)]).out).toBe(original);
    }
  });

  it('restores one character per chunk', () => {
    expect(streamed([...answer]).out).toBe(original);
  });

  it('restores across every pair of split points', () => {
    for (let i = 0; i <= answer.length; i += 3) {
      for (let j = i; j <= answer.length; j += 2) {
        expect(streamed([answer.slice(0, i), answer.slice(i, j), answer.slice(j)]).out).toBe(original);
      }
    }
  });

  it('holds back only a possible placeholder prefix', () => {
    const s = new StreamRestorer(map);
    expect(s.push('see [EMA')).toBe('see ');
    expect(s.push('IL_1] and [not a placeholder')).toBe(`${EMAIL} and [not a placeholder`);
    expect(s.push(' [CARD_1')).toBe(' ');
    expect(s.push('x')).toBe('[CARD_1x');
    expect(s.push('[SECRET_12')).toBe('');
    expect(s.flush()).toBe('[SECRET_12');
  });

  it('passes text without brackets straight through', () => {
    const s = new StreamRestorer(map);
    expect(s.push('hello ')).toBe('hello ');
    expect(s.push('world')).toBe('world');
    expect(s.flush()).toBe('');
  });
});

describe('redactChatRequest', () => {
  const body = {
    model: 'gpt-4o',
    temperature: 0,
    messages: [
      { role: 'system', content: 'You help customers. Escalate to ops@acme.io.' },
      { role: 'user', content: `My card ${CARD} was charged twice, mail me at ${EMAIL}.` },
      { role: 'assistant', content: `I will write to ${EMAIL}.` },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Here is the receipt, my phone is +44 20 7946 0958.' },
          { type: 'image_url', image_url: { url: 'https://example.com/r.png?u=jane.doe@example.com' } },
        ],
      },
      { role: 'user', content: 'Nothing personal here.' },
    ],
  };

  it('redacts every message text with one placeholder per value and counts per detector', () => {
    const r = redactChatRequest(body, REDACT_ALL);
    if (r.kind !== 'redacted') throw new Error('blocked');
    const out = r.body as typeof body;
    expect(out.messages[0]!.content).toBe('You help customers. Escalate to [EMAIL_1].');
    expect(out.messages[1]!.content).toBe('My card [CARD_1] was charged twice, mail me at [EMAIL_2].');
    expect(out.messages[2]!.content).toBe('I will write to [EMAIL_2].');
    expect(out.messages[3]!.content).toEqual([
      { type: 'text', text: 'Here is the receipt, my phone is [PHONE_1].' },
      body.messages[3]!.content[1], // non-text parts untouched
    ]);
    expect(out.messages[4]).toBe(body.messages[4]); // unchanged messages are shared, not copied
    expect(r.counts).toEqual({ email: 3, card: 1, phone: 1 });
    expect(restore(out.messages[2]!.content as string, r.restore)).toBe(`I will write to ${EMAIL}.`);
    expect(out.model).toBe('gpt-4o');
  });

  it('never mutates the input body', () => {
    const before = structuredClone(body);
    redactChatRequest(body, REDACT_ALL);
    redactChatRequest(body, { default: 'block' });
    expect(body).toEqual(before);
  });

  it('blocks the whole request when a blocking detector fires in any message', () => {
    const r = redactChatRequest(body, { default: 'redact', detectors: { phone: 'block' } });
    expect(r).toEqual({ kind: 'blocked', detectors: ['phone'] });
  });

  it('returns the same body when there is nothing to redact or no messages', () => {
    const clean = { model: 'm', messages: [{ role: 'user', content: 'hello' }] };
    expect(redactChatRequest(clean, REDACT_ALL)).toMatchObject({ kind: 'redacted', body: clean });
    expect(redactChatRequest({ prompt: EMAIL }, REDACT_ALL)).toMatchObject({ body: { prompt: EMAIL } });
    expect(redactChatRequest(null, REDACT_ALL)).toMatchObject({ kind: 'redacted', body: null });
  });
});
