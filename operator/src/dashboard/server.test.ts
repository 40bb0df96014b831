import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SharedTokenAuth, tokensEqual } from './auth.js';
import { staticDir } from './index.js';
import { DashboardServer } from './server.js';
import { frame, SseHub } from './sse.js';

const TOKEN = 'a-viewer-token-of-32-characters!';

function tokenFile(content: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'dash-')), 'token');
  writeFileSync(f, content);
  return f;
}

let server: DashboardServer;
let base: string;

beforeAll(async () => {
  server = new DashboardServer({
    port: 0,
    host: '127.0.0.1',
    staticDir: staticDir(),
    auth: new SharedTokenAuth(tokenFile(`${TOKEN}\n`)),
    hub: new SseHub(),
    source: {
      snapshot: () => ({ views: [{ key: 'canary/llm/chat' }] }),
      snapshotFrame: () => frame('snapshot', { views: [] }),
      series: () => Promise.resolve(undefined),
    },
  });
  base = `http://127.0.0.1:${await server.listen()}`;
});

afterAll(() => server.close());

const login = (token: string) =>
  fetch(`${base}/api/login`, { method: 'POST', body: JSON.stringify({ token }) });

describe('dashboard server', () => {
  test('serves the page to anyone and no data without a login', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="main"');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    for (const p of ['/api/snapshot', '/api/events', '/api/whoami']) {
      const r = await fetch(`${base}${p}`);
      expect(r.status).toBe(401);
      expect(await r.text()).not.toContain('llm');
    }
    expect((await fetch(`${base}/../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/sse.ts`)).status).toBe(404);
  });

  test('logs in with the token into an HttpOnly cookie session', async () => {
    expect((await login('wrong-token-wrong-token')).status).toBe(401);
    expect((await fetch(`${base}/api/login`, { method: 'POST', body: 'not json' })).status).toBe(400);
    const ok = await login(TOKEN);
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    const snap = await fetch(`${base}/api/snapshot`, { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(await snap.json()).toEqual({ views: [{ key: 'canary/llm/chat' }] });
    const logout = await fetch(`${base}/api/logout`, {
      method: 'POST',
      headers: { cookie: cookie.split(';')[0] ?? '' },
    });
    expect(logout.status).toBe(200);
    expect(
      (await fetch(`${base}/api/snapshot`, { headers: { cookie: cookie.split(';')[0] ?? '' } })).status,
    ).toBe(401);
  });

  test('takes a Bearer token on the API', async () => {
    const r = await fetch(`${base}/api/whoami`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await r.json()).toEqual({ user: 'dashboard-token', mode: 'token', canAct: false });
  });

  test('refuses actions without the action header, and in token mode at all', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const bare = await fetch(`${base}/api/canaries/llm/chat/promote`, { method: 'POST', headers: auth });
    expect(bare.status).toBe(403);
    expect(await bare.text()).toContain('x-beastmode-dashboard');
    const r = await fetch(`${base}/api/canaries/llm/chat/abort`, {
      method: 'POST',
      headers: { ...auth, 'x-beastmode-dashboard': 'action' },
    });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('read-only');
  });
});

describe('token auth', () => {
  test('refuses a missing or short token file at start', () => {
    expect(() => new SharedTokenAuth('/nonexistent/token')).toThrow(/cannot read the dashboard token file/);
    expect(() => new SharedTokenAuth(tokenFile('short'))).toThrow(/shorter than 16/);
  });

  test('compares whole tokens', () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(tokensEqual(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(tokensEqual('', TOKEN)).toBe(false);
  });
});

test('bounds login attempts per second', async () => {
  const codes = await Promise.all(
    Array.from({ length: 30 }, () => login('wrong-token-wrong-token').then((r) => r.status)),
  );
  expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
  expect(codes.filter((c) => c === 401).length).toBeGreaterThan(0);
});
