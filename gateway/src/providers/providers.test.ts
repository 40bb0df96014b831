// Golden tests of the provider adapters: testdata/<provider>/<endpoint>-<request|response|stream>.in.* →
// .out.*, one table test globbing them. UPDATE_GOLDEN=1 rewrites the .out files.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildUpstreamBody, providerAdapter } from './provider.js';
import { SseParser } from './sse.js';
import type { Endpoint, TransformContext } from './types.js';
import { UpstreamStreamError } from './types.js';

const DIR = path.join(import.meta.dirname, 'testdata');
const CTX: TransformContext = { model: 'backend-model', created: 1_700_000_000, clientWantsUsage: false };

interface Case {
  provider: string;
  endpoint: Endpoint;
  kind: 'request' | 'response' | 'stream';
  input: string;
  output: string;
}

const cases: Case[] = readdirSync(DIR).flatMap((provider) =>
  readdirSync(path.join(DIR, provider))
    .filter((f) => f.includes('.in.'))
    .map((f) => {
      const [stem = '', ext = ''] = f.split('.in.');
      const [endpoint, kind] = stem.split('-') as [Endpoint, Case['kind']];
      return {
        provider,
        endpoint,
        kind,
        input: path.join(DIR, provider, f),
        output: path.join(DIR, provider, `${stem}.out.${ext}`),
      };
    }),
);

function run(c: Case): string {
  const adapter = providerAdapter(c.provider);
  const text = readFileSync(c.input, 'utf8');
  switch (c.kind) {
    case 'request':
      return `${JSON.stringify(buildUpstreamBody(adapter, c.endpoint, JSON.parse(text) as Record<string, unknown>, 'backend-model'), null, 2)}\n`;
    case 'response':
      return `${JSON.stringify(adapter.transformResponse(c.endpoint, JSON.parse(text), CTX), null, 2)}\n`;
    case 'stream': {
      const tx = adapter.newStreamTransformer({ ...CTX, clientWantsUsage: c.provider === 'anthropic' });
      const p = new SseParser();
      // Feed in small pieces: events split across chunks must come out whole.
      const out: string[] = [];
      for (let i = 0; i < text.length; i += 7)
        for (const ev of p.push(text.slice(i, i + 7))) out.push(...tx.push(ev));
      for (const ev of p.end()) out.push(...tx.push(ev));
      return `${out.map((d) => `data: ${d}\n\n`).join('')}usage: ${JSON.stringify(tx.usage())}\n`;
    }
  }
}

describe('provider adapters (golden)', () => {
  test('there are fixtures for every adapter', () => {
    expect(new Set(cases.map((c) => c.provider))).toEqual(new Set(['openai', 'anthropic']));
  });

  test.each(cases.map((c) => [`${c.provider} ${c.endpoint} ${c.kind}`, c] as const))('%s', (_name, c) => {
    const got = run(c);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(c.output)) writeFileSync(c.output, got);
    expect(got).toBe(readFileSync(c.output, 'utf8'));
  });
});

describe('provider adapters', () => {
  test('an unknown provider throws', () => {
    expect(() => providerAdapter('cohere')).toThrow(/unknown provider "cohere"/);
  });

  test('an Anthropic error event inside a stream becomes an UpstreamStreamError', () => {
    const tx = providerAdapter('anthropic').newStreamTransformer(CTX);
    expect(() =>
      tx.push({
        event: 'error',
        data: '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}',
      }),
    ).toThrow(UpstreamStreamError);
  });

  test('Anthropic errors map to OpenAI error types', () => {
    const e = providerAdapter('anthropic').transformError(429, {
      type: 'error',
      error: { type: 'rate_limit_error', message: 'slow down' },
    });
    expect(e).toEqual({
      message: 'slow down',
      type: 'rate_limit_error',
      param: null,
      code: 'rate_limit_error',
    });
  });

  test('the SSE parser handles CRLF and multi-line data', () => {
    const p = new SseParser();
    expect(p.push('event: a\r\ndata: x\r\ndata: y\r\n\r\n: comment\n\ndata: z')).toEqual([
      { event: 'a', data: 'x\ny' },
    ]);
    expect(p.end()).toEqual([{ data: 'z' }]);
  });
});
