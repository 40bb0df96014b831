// The dashboard's HTTP server (plain node:http, its own port): the page's static files, which hold no data
// and are public, and the /api routes, which answer 401 without a session cookie or a Bearer token. Every
// answer forbids framing and inline scripts (CSP), and actions need a custom header, which a cross-site
// form cannot send, on top of the SameSite=Strict cookie.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { Authenticator } from './auth.js';
import type { ActionOutcome, CanaryAction } from './actions.js';
import {
  DEFAULT_SESSION_LIMITS,
  sessionCookie,
  sessionIdOf,
  Sessions,
  type Principal,
  type SessionLimits,
} from './sessions.js';
import type { SseHub } from './sse.js';

/** What the server reads from the rest of the dashboard. */
export interface DashboardSource {
  /** The whole state as one SSE frame (the first one every client gets). */
  snapshotFrame(): string;
  snapshot(): unknown;
  /** An object's last hour of figures; rejects with a message the page shows (a Prometheus refusal). */
  series(key: string): Promise<unknown>;
}

export interface DashboardServerOptions {
  port: number;
  host?: string | undefined;
  staticDir: string;
  auth: Authenticator;
  hub: SseHub;
  source: DashboardSource;
  /** Runs an action on a canary or an experiment as the principal; undefined when this mode cannot act. */
  act?:
    | ((
        p: Principal,
        action: CanaryAction,
        ns: string,
        name: string,
        target: ActionTarget,
      ) => Promise<ActionOutcome>)
    | undefined;
  sessions?: SessionLimits;
  onAction?: (p: Principal, action: string, key: string, outcome: ActionOutcome) => void;
}

export const ACTION_HEADER = 'x-beastmode-dashboard';
/** The kinds the page acts on, as their plural in the action's path. */
export type ActionTarget = 'canaries' | 'experiments';
const MAX_BODY = 16 * 1024;
/**
 * Logins per second, all clients together: each one may cost the API server a TokenReview, and guessing a
 * token gains nothing from speed it is not given.
 */
const LOGINS_PER_SECOND = 10;

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The files the page is made of; nothing else under the directory is served. */
const STATIC = new Set([
  'index.html',
  'app.js',
  'render.js',
  'chart.js',
  'pages.js',
  'experiment.js',
  'style.css',
  'favicon.svg',
]);

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown, extra = {}): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), extra);

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

const bearerOf = (req: IncomingMessage): string | undefined =>
  /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];

export class DashboardServer {
  readonly sessions: Sessions;
  private server: Server | undefined;
  private logins = { second: 0, count: 0 };

  constructor(private readonly o: DashboardServerOptions) {
    this.sessions = new Sessions(o.sessions ?? DEFAULT_SESSION_LIMITS);
  }

  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) json(res, 500, { error: (e as Error).message });
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : this.o.port;
  }

  close(): void {
    this.o.hub.close();
    this.server?.close();
    this.server?.closeAllConnections();
  }

  /** The session's principal, else the Bearer token's; undefined when neither is valid. */
  private async principal(req: IncomingMessage): Promise<Principal | undefined> {
    const id = sessionIdOf(req.headers.cookie);
    const fromSession = id === undefined ? undefined : this.sessions.get(id);
    if (fromSession) return fromSession;
    const token = bearerOf(req);
    if (token === undefined) return undefined;
    const r = await this.o.auth.authenticate(token);
    return 'principal' in r ? r.principal : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (!path.startsWith('/api/')) return this.serveStatic(req, res, path);
    if (path === '/api/login' && req.method === 'POST') return this.login(req, res);
    const p = await this.principal(req);
    if (p === undefined)
      return json(res, 401, { error: 'log in first: POST /api/login or Authorization: Bearer' });
    if (req.method === 'POST') return this.post(req, res, path, p);
    if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
    if (path === '/api/whoami')
      return json(res, 200, { user: p.user, mode: this.o.auth.mode, canAct: this.o.act !== undefined });
    if (path === '/api/snapshot') return json(res, 200, this.o.source.snapshot());
    if (path === '/api/events') {
      this.o.hub.attach(res, this.o.source.snapshotFrame());
      return;
    }
    const series = /^\/api\/series\/(route|autoscaler)\/([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(path);
    if (series) {
      try {
        const data = await this.o.source.series(`${series[1]}/${series[2]}/${series[3]}`);
        return json(res, 200, data ?? { at: [], values: {} });
      } catch (e) {
        return json(res, 502, { error: (e as Error).message });
      }
    }
    return json(res, 404, { error: 'not found' });
  }

  private async post(req: IncomingMessage, res: ServerResponse, path: string, p: Principal): Promise<void> {
    if (path === '/api/logout') {
      const id = sessionIdOf(req.headers.cookie);
      if (id !== undefined) this.sessions.delete(id);
      return json(res, 200, { ok: true }, { 'Set-Cookie': sessionCookie('', 0) });
    }
    const m = /^\/api\/(canaries|experiments)\/([a-z0-9-]+)\/([a-z0-9.-]+)\/(promote|abort)$/.exec(path);
    if (!m) return json(res, 404, { error: 'not found' });
    if (req.headers[ACTION_HEADER] !== 'action')
      return json(res, 403, { error: `actions need the ${ACTION_HEADER}: action header` });
    const [, target = 'canaries', ns = '', name = '', action] = m;
    const cli = target === 'experiments' ? 'beastmode experiment' : 'beastmode canary';
    if (this.o.act === undefined) {
      return json(res, 403, {
        error: `this dashboard is read-only (token mode): promote or abort with \`${cli}\`, or run the dashboard with --dashboard-auth tokenreview`,
      });
    }
    const outcome = await this.o.act(p, action as CanaryAction, ns, name, target as ActionTarget);
    this.o.onAction?.(p, action ?? '', `${target}/${ns}/${name}`, outcome);
    return json(
      res,
      outcome.status,
      outcome.status < 300 ? { ok: true, message: outcome.message } : { error: outcome.message },
    );
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const second = Math.floor(Date.now() / 1000);
    if (this.logins.second !== second) this.logins = { second, count: 0 };
    if (++this.logins.count > LOGINS_PER_SECOND)
      return json(res, 429, { error: 'too many logins: try again in a second' }, { 'Retry-After': '1' });
    let token: unknown;
    try {
      token = (JSON.parse(await readBody(req)) as { token?: unknown }).token;
    } catch {
      return json(res, 400, { error: 'send {"token": "<token>"} as JSON' });
    }
    if (typeof token !== 'string' || token === '' || token.length > 8192)
      return json(res, 400, { error: 'send {"token": "<token>"} as JSON' });
    const r = await this.o.auth.authenticate(token.trim());
    if ('refused' in r) return json(res, r.status, { error: r.refused });
    const id = this.sessions.create(r.principal);
    const maxAge = Math.floor((this.o.sessions ?? DEFAULT_SESSION_LIMITS).ttlMs / 1000);
    return json(res, 200, { user: r.principal.user }, { 'Set-Cookie': sessionCookie(id, maxAge) });
  }

  private async serveStatic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'method not allowed');
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (!STATIC.has(file)) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const body = await readFile(join(this.o.staticDir, file));
    return send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', body);
  }
}
