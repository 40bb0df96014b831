// W3C traceparent reading and writing, the OTLP JSON encoding of a span, and the bounded prompt capture.
import { encodeExport, unixNano, type SpanRecord } from './otlp.js';

interface ExportBody {
  resourceSpans: {
    resource: { attributes: unknown[] };
    scopeSpans: { spans: Record<string, unknown>[] }[];
  }[];
}
import { inputMessages, MAX_PART_CHARS, outputMessages, StreamedText } from './capture.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceparent', () => {
  test('reads the ids and the sampled flag of a version 00 header', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
    });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
    expect(parseTraceparent(`00-${TRACE.toUpperCase()}-${SPAN}-03`)?.sampled).toBe(true);
  });

  test('accepts a later version with more fields, and refuses what the spec says to ignore', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId).toBe(TRACE);
    for (const bad of [
      undefined,
      ['a', 'b'],
      '',
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-1`,
      `00-${TRACE}-${SPAN}-zz`,
    ])
      expect(parseTraceparent(bad)).toBeUndefined();
  });

  test('writes what it reads, and makes ids of the right length that differ', () => {
    const header = formatTraceparent(TRACE, SPAN, true);
    expect(header).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(parseTraceparent(formatTraceparent(TRACE, SPAN, false))?.sampled).toBe(false);
    const ids = new Set(Array.from({ length: 1000 }, () => newSpanId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('OTLP JSON', () => {
  const span: SpanRecord = {
    traceId: TRACE,
    spanId: SPAN,
    parentSpanId: undefined,
    name: 'chat gpt',
    kind: 'server',
    startMs: 1_700_000_000_000.5,
    endMs: 1_700_000_000_010.25,
    attributes: { s: 'x "quoted"\n', i: 3, d: 0.5, b: true, gone: undefined },
    events: [{ name: 'e', timeMs: 1_700_000_000_001 }],
    status: { code: 'error', message: 'boom' },
  };

  test('encodes ids in hex, kinds and codes as numbers, times in nanoseconds and typed attributes', () => {
    const text = encodeExport({ 'service.name': 'gw' }, { name: 'beastmode-gateway', version: '1' }, [span]);
    const body = JSON.parse(text) as ExportBody;
    const rs = body.resourceSpans[0];
    expect(rs?.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'gw' } }]);
    const s = rs?.scopeSpans[0]?.spans[0];
    expect(s).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      kind: 2,
      startTimeUnixNano: '1700000000000500000',
      endTimeUnixNano: '1700000000010250000',
      status: { code: 2, message: 'boom' },
    });
    expect(s).not.toHaveProperty('parentSpanId');
    expect(s?.attributes).toEqual([
      { key: 's', value: { stringValue: 'x "quoted"\n' } },
      { key: 'i', value: { intValue: '3' } },
      { key: 'd', value: { doubleValue: 0.5 } },
      { key: 'b', value: { boolValue: true } },
    ]);
    expect(s?.events).toEqual([{ timeUnixNano: '1700000000001000000', name: 'e', attributes: [] }]);
    expect(rs?.scopeSpans[0]).toMatchObject({ scope: { name: 'beastmode-gateway', version: '1' } });
    expect(unixNano(1)).toBe('1000000');
  });
});

describe('prompt capture', () => {
  test('turns chat messages into semconv messages, naming parts that are not text', () => {
    const body = {
      messages: [
        { role: 'system', content: 'Be brief' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: {} },
          ],
        },
      ],
    };
    expect(JSON.parse(inputMessages('chat', body) ?? '')).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief' }] },
      { role: 'user', parts: [{ type: 'text', content: 'What is this?' }, { type: 'image_url' }] },
    ]);
  });

  test('bounds each text part', () => {
    const long = 'x'.repeat(MAX_PART_CHARS + 100);
    const parsed = JSON.parse(inputMessages('completions', { prompt: long }) ?? '') as {
      parts: { content: string }[];
    }[];
    expect(parsed[0]?.parts[0]?.content).toHaveLength(MAX_PART_CHARS + 1);
  });

  test('reads the answer of a JSON body and of a stream', () => {
    const answer = JSON.stringify({ choices: [{ message: { content: 'Hi' }, finish_reason: 'stop' }] });
    expect(JSON.parse(outputMessages('chat', answer) ?? '')).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hi' }], finish_reason: 'stop' },
    ]);
    expect(outputMessages('chat', 'not json')).toBeUndefined();
    const streamed = new StreamedText();
    streamed.push('data: {"choices":[{"delta":{"content":"He"}}]}\n\n');
    streamed.push(
      'data: {"choices":[{"delta":{"content":"llo"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    );
    expect(JSON.parse(streamed.messages())).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hello' }], finish_reason: 'stop' },
    ]);
  });
});
