// What a client learns of an upstream's error: the structured error (OpenAI's shape) with its message
// bounded, never the raw body — an HTML error page or a stack trace from a backend stays at the gateway.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import { TestServers } from '../../../testkit/http-servers.js';

const servers = new TestServers();
let upstream: http.Server;
let answer: { status: number; type: string; body: string } = { status: 500, type: 'text/plain', body: '' };

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  await servers.close();
  await new Promise((r) => upstream.close(r));
});

async function ask(): Promise<{ status: number; error: { message: string; type: string } }> {
  const port = (upstream.address() as AddressInfo).port;
  const g = await servers.gateway([
    compiledRoute('chat', [{ name: 'a', url: `http://127.0.0.1:${port}/v1` }], {
      fallback: { on: ['5xx'], maxAttempts: 1 },
      retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
    }),
  ]);
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.status, ...((await res.json()) as { error: { message: string; type: string } }) };
}

test('an HTML error page is not echoed: the client gets a generic upstream error', async () => {
  answer = {
    status: 500,
    type: 'text/html',
    body: '<html><body>Internal Server Error at /srv/app/secret-path.py line 42 token=abc</body></html>',
  };
  const r = await ask();
  expect(r.status).toBe(500);
  expect(r.error.message).toBe('upstream answered with status 500');
  expect(JSON.stringify(r)).not.toContain('secret-path');
});

test("a structured error's message is passed on, at most 1,000 characters of it", async () => {
  const long = `model overloaded ${'x'.repeat(5000)}`;
  answer = {
    status: 503,
    type: 'application/json',
    body: JSON.stringify({ error: { message: long, type: 'server_error', trace: 'internal-trace-id-77' } }),
  };
  const r = await ask();
  expect(r.status).toBe(503);
  expect(r.error.message.startsWith('model overloaded xxx')).toBe(true);
  expect(r.error.message.length).toBeLessThanOrEqual(1001);
  expect(JSON.stringify(r)).not.toContain('internal-trace-id-77');
});
