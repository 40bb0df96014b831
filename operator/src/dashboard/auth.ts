// Who may read the dashboard. Two modes, chosen with --dashboard-auth:
// - token: one shared viewer token, read from a file (a mounted Secret, read again as it rotates) and
//   compared in constant time. Read-only: the operator's own identity cannot patch Canary specs, and a
//   shared token names nobody the API server could authorise, so promote and abort are refused.
// - tokenreview: the viewer's own Kubernetes bearer token, checked by the API server (TokenReview); the
//   viewer may read only when a SubjectAccessReview says it may list Canaries wherever the operator
//   watches. Promote and abort are then made with the viewer's token, so the API server's RBAC decides them.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../../../kube/client.js';
import type { Principal } from './sessions.js';

export type AuthMode = 'token' | 'tokenreview';

export type AuthResult = { principal: Principal } | { refused: string; status: 401 | 403 };

export interface Authenticator {
  readonly mode: AuthMode;
  authenticate(token: string): Promise<AuthResult>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Equal strings, in time independent of where they differ (digests first: lengths may differ). */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}

export const MIN_TOKEN_LENGTH = 16;
const REREAD_MS = 30_000;

export class SharedTokenAuth implements Authenticator {
  readonly mode = 'token';
  private cached: { token: string; at: number } | undefined;

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.read(); // a missing or weak token stops the operator at start, not at the first login
  }

  private read(): string {
    if (this.cached && this.now() - this.cached.at < REREAD_MS) return this.cached.token;
    let token: string;
    try {
      token = readFileSync(this.file, 'utf8').trim();
    } catch (e) {
      throw new Error(`cannot read the dashboard token file ${this.file}: ${(e as Error).message}`);
    }
    if (token.length < MIN_TOKEN_LENGTH)
      throw new Error(
        `the dashboard token in ${this.file} is shorter than ${MIN_TOKEN_LENGTH} characters: use a random one (openssl rand -hex 32)`,
      );
    this.cached = { token, at: this.now() };
    return token;
  }

  authenticate(token: string): Promise<AuthResult> {
    const ok = tokensEqual(token, this.read());
    return Promise.resolve(
      ok ? { principal: { user: 'dashboard-token', groups: [] } } : { refused: 'invalid token', status: 401 },
    );
  }
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

interface SarStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
}

const CACHE_MS = 30_000;
const CACHE_MAX = 256;

export class TokenReviewAuth implements Authenticator {
  readonly mode = 'tokenreview';
  /** Recent answers by token digest, so API calls with a Bearer header do not each cost two reviews. */
  private readonly recent = new Map<string, { result: AuthResult; at: number }>();

  /** `namespaces`: those the operator watches; undefined for all (a cluster-wide review). */
  constructor(
    private readonly client: KubeClient,
    private readonly namespaces: string[] | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(token: string): Promise<AuthResult> {
    const id = digest(token).toString('hex');
    const hit = this.recent.get(id);
    if (hit && this.now() - hit.at < CACHE_MS) return hit.result;
    const result = await this.review(token);
    if (this.recent.size >= CACHE_MAX) this.recent.delete(this.recent.keys().next().value ?? '');
    this.recent.set(id, { result, at: this.now() });
    return result;
  }

  private async review(token: string): Promise<AuthResult> {
    const review = await this.client.request<{ status?: TokenReviewStatus }>(
      'POST',
      '/apis/authentication.k8s.io/v1/tokenreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } },
    );
    const st = review.status ?? {};
    if (st.authenticated !== true || st.user?.username === undefined)
      return { refused: 'the API server did not accept this token', status: 401 };
    const principal: Principal = {
      user: st.user.username,
      uid: st.user.uid,
      groups: st.user.groups ?? [],
      extra: st.user.extra,
      credential: token,
    };
    for (const ns of this.namespaces ?? [undefined]) {
      const allowed = await this.may(principal, 'list', ns);
      if (!allowed)
        return {
          refused: `${principal.user} may not list canaries.beastmode.dev ${ns ? `in namespace ${ns}` : 'in all namespaces'}`,
          status: 403,
        };
    }
    return { principal };
  }

  /** A SubjectAccessReview of `verb` on Canaries for the principal. */
  async may(p: Principal, verb: string, namespace: string | undefined): Promise<boolean> {
    const sar = await this.client.request<{ status?: SarStatus }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: p.user,
            ...(p.uid ? { uid: p.uid } : {}),
            groups: p.groups,
            ...(p.extra ? { extra: p.extra } : {}),
            resourceAttributes: {
              group: 'beastmode.dev',
              resource: 'canaries',
              verb,
              ...(namespace ? { namespace } : {}),
            },
          },
        },
      },
    );
    return sar.status?.allowed === true && sar.status.denied !== true;
  }
}
