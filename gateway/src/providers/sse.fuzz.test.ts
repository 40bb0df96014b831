// Property tests of the SSE parser: the events of a byte stream do not depend on how it is cut into chunks
// (CRLF split in two, a character's bytes split, one byte at a time), on whether it ends with a blank line,
// and are those of a plain line-by-line reading of the event-stream format. Every file of fuzz/corpus/sse is
// replayed cut at every point and byte by byte.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anyString } from '../../../fuzz/arbitraries.js';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import { SseParser, type SseEvent } from './sse.js';

/** The events of a stream fed in these chunks, then ended. */
function parse(chunks: (Uint8Array | string)[]): SseEvent[] {
  const p = new SseParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
}

/** The bytes cut at `cuts` (positions taken modulo the length, in any order, repeats allowed). */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, to));
    from = to;
  }
  return chunks;
}

/** The event-stream format read line by line, written independently of the parser. */
function reference(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  let event: string | undefined;
  let data: string | undefined;
  const dispatch = () => {
    if (data !== undefined || event !== undefined)
      out.push(event === undefined ? { data: data ?? '' } : { event, data: data ?? '' });
    event = undefined;
    data = undefined;
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') dispatch();
    else if (!line.startsWith(':')) {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const raw = colon < 0 ? '' : line.slice(colon + 1);
      const value = raw.startsWith(' ') ? raw.slice(1) : raw;
      if (field === 'event') event = value;
      else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    }
  }
  dispatch();
  return out;
}

const decoded = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
/** A blank line, as bytes: what a stream that ends with one sends last. */
const BLANK_LINE = new TextEncoder().encode('\n\n');

function checkStream(bytes: Uint8Array, cuts: number[]): void {
  const whole = parse([bytes]);
  assert.deepStrictEqual(parse(cut(bytes, cuts)), whole);
  assert.deepStrictEqual(whole, reference(decoded(bytes)));
  // Ending without a blank line reads as ending with one.
  assert.deepStrictEqual(parse([bytes, BLANK_LINE]), whole);
}

const lineEnd = fc.constantFrom('\n', '\r\n', '\r');
const field = fc.oneof(
  fc.constantFrom('data', 'event', 'id', 'retry', '', 'DATA', 'data ', ' data'),
  anyString(6),
);
const value = fc.oneof(
  anyString(20),
  fc.constantFrom(
    '[DONE]',
    ' {"type":"message_stop"}',
    '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}',
    '{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}',
  ),
);
const line = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(field, fc.constantFrom(':', ': ', ':  '), value).map((p) => p.join('')) },
  { weight: 1, arbitrary: field },
  { weight: 1, arbitrary: value.map((v) => `:${v}`) },
  { weight: 2, arbitrary: fc.constant('') },
);
/** Streams of event-stream lines, any line ends mixed, with or without a last line end. */
const sseText = fc
  .tuple(fc.array(fc.tuple(line, lineEnd), { maxLength: 16 }), fc.boolean())
  .map(([lines, last]) => {
    const text = lines.map(([l, e]) => l + e).join('');
    return last ? text : text.replace(/(\r\n|\r|\n)$/, '');
  });
const streamBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: sseText.map((t) => new TextEncoder().encode(t)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(sseText, fc.uint8Array({ maxLength: 4 }), sseText)
      .map(
        ([a, junk, b]) =>
          new Uint8Array([...new TextEncoder().encode(a), ...junk, ...new TextEncoder().encode(b)]),
      ),
  },
);

describe('SSE parser (corpus)', () => {
  test.each(corpus('sse').map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const bytes = new Uint8Array(f.bytes);
    const whole = parse([bytes]);
    assert.deepStrictEqual(whole, reference(decoded(bytes)));
    assert.deepStrictEqual(parse([bytes, BLANK_LINE]), whole);
    assert.deepStrictEqual(parse(cut(bytes, [...bytes.keys()])), whole, 'byte by byte');
    for (let i = 1; i < bytes.length; i++)
      assert.deepStrictEqual(parse(cut(bytes, [i])), whole, `cut at ${i}`);
  });
});

describe('SSE parser (properties)', () => {
  test(
    'the events of a stream do not depend on where it is cut, and are the format read line by line',
    () => {
      fc.assert(
        fc.property(streamBytes, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) =>
          checkStream(bytes, cuts),
        ),
        fuzzParams(2000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'text fed as strings gives the events of its UTF-8 bytes',
    () => {
      fc.assert(
        fc.property(sseText, fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
          const bytes = new TextEncoder().encode(text);
          const sane = decoded(bytes); // lone surrogates became U+FFFD, as on the wire
          const at = [...new Set(cuts.map((c) => c % (sane.length + 1)))].sort((a, b) => a - b);
          const pieces = [...at, sane.length].map((to, i) => sane.slice(i === 0 ? 0 : at[i - 1], to));
          assert.deepStrictEqual(parse(pieces), parse([bytes]));
        }),
        fuzzParams(1000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('a CRLF split across two chunks is one line end', () => {
    // Found by the properties: the CR was read as a line end on its own and the LF after it as a second,
    // so an event whose CRLF fell on a chunk boundary was dispatched early and split in two.
    const p = new SseParser();
    const events = [...p.push('data: a\r'), ...p.push('\ndata: b\r\n\r\n'), ...p.end()];
    expect(events).toEqual([{ data: 'a\nb' }]);
  });

  test('the last event of a stream without a blank line keeps its spaces and cut-off bytes', () => {
    // Found by the properties: end() trimmed what was left, and dropped the bytes of a character the
    // stream cut off, where the same event followed by a blank line kept both.
    const p = new SseParser();
    p.push(new Uint8Array([...new TextEncoder().encode('data: x \n  data: y'), 0xe2, 0x82]));
    expect(p.end()).toEqual([{ data: 'x ' }]);
    const q = new SseParser();
    q.push(new Uint8Array([...new TextEncoder().encode('data: x'), 0xe2, 0x82]));
    expect(q.end()).toEqual([{ data: 'x\ufffd' }]);
  });
});
