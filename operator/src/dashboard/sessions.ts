// Dashboard sessions: a browser logs in once with a token (POST /api/login) and gets an HttpOnly,
// SameSite=Strict cookie holding a random session id, because an EventSource cannot send an Authorization
// header. The table is bounded (the oldest session goes first) and every session expires.
import { randomBytes } from 'node:crypto';

/** Who is looking, as the authenticator established it. */
export interface Principal {
  user: string;
  uid?: string | undefined;
  groups: string[];
  extra?: Record<string, string[]> | undefined;
  /**
   * The viewer's own bearer token (tokenreview mode): promote and abort are made with it, so the API
   * server's RBAC decides them. Held in memory only; never logged, never sent back.
   */
  credential?: string | undefined;
}

export interface SessionLimits {
  max: number;
  ttlMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { max: 256, ttlMs: 3600_000 };

interface Entry {
  principal: Principal;
  expiresAt: number;
}

export class Sessions {
  private readonly table = new Map<string, Entry>();

  constructor(
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session for `p`; its id is 256 random bits. */
  create(p: Principal): string {
    this.sweep();
    while (this.table.size >= this.limits.max) {
      const oldest = this.table.keys().next().value;
      if (oldest === undefined) break;
      this.table.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.table.set(id, { principal: p, expiresAt: this.now() + this.limits.ttlMs });
    return id;
  }

  get(id: string): Principal | undefined {
    const e = this.table.get(id);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now()) {
      this.table.delete(id);
      return undefined;
    }
    return e.principal;
  }

  delete(id: string): void {
    this.table.delete(id);
  }

  get size(): number {
    return this.table.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, e] of this.table) if (e.expiresAt <= t) this.table.delete(id);
  }
}

export const SESSION_COOKIE = 'beastmode_dashboard';

/** The session id of a Cookie header, if it carries ours. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return undefined;
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}
