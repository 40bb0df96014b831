// Reads the gateway's own word on credentials: every instance exports beastmode_backend_credentials_ready
// (1 readable, 0 not) per backend that takes credentials. The same scrape tells which backends are spilling
// their excess over to another (beastmode_spillover_active), for the route's SpillingOver condition. The operator never reads Secrets, so this is how a
// missing Secret or key reaches a route's status. A probe scrapes every instance of a gateway (the same
// instances the canary analysis scrapes) and counts, per route, how many cannot read each credential.
import { METRICS } from '../../../../api/v1alpha1/index.js';
import type {
  CredentialsReport,
  RouterReport,
  SpillingBackend,
  UnavailableCredential,
} from '../../render/translate.js';
import type { GatewayEndpoints, GatewayRef } from './endpoints.js';
import { scrapeWithUndici } from './gateway.js';
import { parsePrometheusText } from './prom-text.js';

/** One scrape's unreadable credentials of a namespace's routes, by route. */
export function unreadableCredentials(
  text: string,
  namespace: string,
): Map<string, Omit<UnavailableCredential, 'instances'>[]> {
  const out = new Map<string, Omit<UnavailableCredential, 'instances'>[]>();
  for (const s of parsePrometheusText(text, (n) => n === METRICS.credentialsReady)) {
    const l = s.labels;
    if (l.namespace !== namespace || l.route === undefined || s.value !== 0) continue;
    const entry = {
      backend: l.backend ?? '',
      variant: l.variant ?? '',
      secret: l.secret ?? '',
      key: l.key ?? '',
    };
    out.set(l.route, [...(out.get(l.route) ?? []), entry]);
  }
  return out;
}

/** A gateway's instances' view of every route's credentials, and of the backends they spill over from. */
export interface GatewayCredentials {
  /** Instances that answered. */
  instances: number;
  /** Routes with a credential some instance cannot read; a route absent here has none. */
  routes: Map<string, CredentialsReport>;
  /** Routes with a backend some instance spilled over from in the last seconds; absent: none. */
  spilling?: Map<string, SpillingBackend[]>;
  /** Routes whose instances report router models (quality-cost and domain routes); absent: none. */
  router?: Map<string, RouterReport>;
}

/** One scrape's router models and learned weak shares, by route. */
export function routerOfScrape(
  text: string,
  namespace: string,
): Map<string, { models: string[]; share?: number }> {
  const out = new Map<string, { models: string[]; share?: number }>();
  const names = new Set<string>([METRICS.routerModelInfo, METRICS.routerLearnedWeakShare]);
  for (const s of parsePrometheusText(text, (n) => names.has(n))) {
    const l = s.labels;
    if (l.namespace !== namespace || l.route === undefined) continue;
    const entry = out.get(l.route) ?? { models: [] };
    out.set(l.route, entry);
    if (s.name === METRICS.routerModelInfo) entry.models.push(`${l.kind ?? '?'} ${l.version ?? '?'}`);
    else entry.share = s.value;
  }
  return out;
}

/** Adds up several instances' router reports: every model any reports, the mean weak share (two digits). */
export function mergeRouters(
  scrapes: Map<string, { models: string[]; share?: number }>[],
): Map<string, RouterReport> {
  const out = new Map<string, RouterReport>();
  const shares = new Map<string, number[]>();
  for (const scrape of scrapes)
    for (const [route, r] of scrape) {
      const known = out.get(route) ?? { models: [], instances: 0 };
      known.models = [...new Set([...known.models, ...r.models])].sort();
      known.instances++;
      out.set(route, known);
      if (r.share !== undefined) shares.set(route, [...(shares.get(route) ?? []), r.share]);
    }
  for (const [route, xs] of shares) {
    const r = out.get(route);
    if (r !== undefined) r.learnedWeakShare = (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2);
  }
  return out;
}

/** One scrape's backends spilling over now (beastmode_spillover_active 1), by route. */
export function spillingBackends(
  text: string,
  namespace: string,
): Map<string, Omit<SpillingBackend, 'instances'>[]> {
  const out = new Map<string, Omit<SpillingBackend, 'instances'>[]>();
  for (const s of parsePrometheusText(text, (n) => n === METRICS.spillOverActive)) {
    const l = s.labels;
    if (l.namespace !== namespace || l.route === undefined || s.value !== 1) continue;
    const entry = { backend: l.backend ?? '', variant: l.variant ?? '', to: l.to ?? '' };
    out.set(l.route, [...(out.get(l.route) ?? []), entry]);
  }
  return out;
}

/** Adds up several instances' spilling backends: per route and backend, how many instances spill. */
export function mergeSpills(
  scrapes: Map<string, Omit<SpillingBackend, 'instances'>[]>[],
): Map<string, SpillingBackend[]> {
  const out = new Map<string, SpillingBackend[]>();
  for (const scrape of scrapes)
    for (const [route, entries] of scrape) {
      const list = out.get(route) ?? [];
      out.set(route, list);
      for (const e of entries) {
        const same = list.find((x) => x.backend === e.backend && x.variant === e.variant && x.to === e.to);
        if (same) same.instances++;
        else list.push({ ...e, instances: 1 });
      }
    }
  for (const list of out.values())
    list.sort((a, b) => (`${a.backend}/${a.variant}` < `${b.backend}/${b.variant}` ? -1 : 1));
  return out;
}

const credentialId = (c: Omit<UnavailableCredential, 'instances'>): string =>
  `${c.backend}\t${c.variant}\t${c.secret}\t${c.key}`;

/** Adds up the scrapes of several instances: per route and credential, how many cannot read it. */
export function mergeScrapes(
  scrapes: Map<string, Omit<UnavailableCredential, 'instances'>[]>[],
): GatewayCredentials {
  const counts = new Map<string, Map<string, UnavailableCredential>>();
  for (const scrape of scrapes)
    for (const [route, entries] of scrape) {
      const byId = counts.get(route) ?? new Map<string, UnavailableCredential>();
      counts.set(route, byId);
      for (const e of entries) {
        const id = credentialId(e);
        byId.set(id, { ...e, instances: (byId.get(id)?.instances ?? 0) + 1 });
      }
    }
  const routes = new Map<string, CredentialsReport>();
  for (const [route, byId] of counts) {
    const unavailable = [...byId.values()].sort((a, b) =>
      credentialId(a) < credentialId(b) ? -1 : credentialId(a) > credentialId(b) ? 1 : 0,
    );
    routes.set(route, { instances: scrapes.length, unavailable });
  }
  return { instances: scrapes.length, routes };
}

export interface CredentialProbeOptions {
  endpoints: GatewayEndpoints;
  /** Fetches one instance's /metrics text; the default uses undici with a timeout. */
  scrape?: (url: string) => Promise<string>;
  timeoutMs?: number;
}

export class CredentialProbe {
  private readonly scrape: (url: string) => Promise<string>;

  constructor(private readonly opts: CredentialProbeOptions) {
    const timeout = opts.timeoutMs ?? 3000;
    this.scrape = opts.scrape ?? ((url) => scrapeWithUndici(url, timeout));
  }

  /** What the gateway's instances say now; undefined when none answered (nothing is known). */
  async probe(gateway: GatewayRef): Promise<GatewayCredentials | undefined> {
    const urls = await this.opts.endpoints.resolve(gateway);
    const results = await Promise.allSettled(urls.map((u) => this.scrape(u)));
    const texts = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (texts.length === 0) return undefined;
    const answer = mergeScrapes(texts.map((t) => unreadableCredentials(t, gateway.namespace)));
    const spilling = mergeSpills(texts.map((t) => spillingBackends(t, gateway.namespace)));
    const router = mergeRouters(texts.map((t) => routerOfScrape(t, gateway.namespace)));
    return {
      ...answer,
      ...(spilling.size > 0 ? { spilling } : {}),
      ...(router.size > 0 ? { router } : {}),
    };
  }
}
