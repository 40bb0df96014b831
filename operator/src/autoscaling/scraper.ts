// Scrapes the instances of every gateway an AutoscalingPolicy depends on, every few seconds, into the
// signals, and counts the rounds in a row in which a gateway could not be read at all (the fallback's
// trigger). The I/O edge of autoscaling: which gateways, and what their signals mean, is decided elsewhere.
import { request } from 'undici';
import type { GatewayEndpoints } from '../rollout/providers/endpoints.js';
import { parsePrometheusText } from '../rollout/providers/prom-text.js';
import { readScrape, type GatewayKey, type GatewaySignals } from './signals.js';

export interface ScraperOptions {
  endpoints: GatewayEndpoints;
  signals: GatewaySignals;
  now: () => number;
  intervalMs: number;
  /** GETs a /metrics URL; undici by default. */
  scrape?: (url: string) => Promise<string>;
  onError?: (gateway: GatewayKey, reason: string) => void;
  /** Called after every round (the forecasts are fed from it). */
  afterRound?: () => void;
}

const id = (g: GatewayKey): string => `${g.namespace}/${g.name}`;

async function getText(url: string): Promise<string> {
  const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
  return text;
}

export class SignalScraper {
  private gateways = new Map<string, GatewayKey>();
  private readonly failed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly scrape: (url: string) => Promise<string>;

  constructor(private readonly o: ScraperOptions) {
    this.scrape = o.scrape ?? getText;
  }

  /** The gateways to follow (the autoscaling controller sets them from its policies). */
  follow(gateways: GatewayKey[]): void {
    this.gateways = new Map(gateways.map((g) => [id(g), g]));
    for (const k of this.failed.keys()) if (!this.gateways.has(k)) this.failed.delete(k);
  }

  /** Rounds in a row in which no instance of the gateway answered (0 when the last round did). */
  failures(g: GatewayKey): number {
    return this.failed.get(id(g)) ?? 0;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.round(), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round: every followed gateway, every instance, at once. Rounds never overlap. */
  round(): Promise<void> {
    this.running ??= this.scrapeAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async scrapeAll(): Promise<void> {
    await Promise.all([...this.gateways.values()].map((g) => this.scrapeGateway(g)));
    this.o.signals.prune(this.o.now(), (k) => this.gateways.has(k));
    this.o.afterRound?.();
  }

  private async scrapeGateway(g: GatewayKey): Promise<void> {
    let answered = 0;
    let reason = 'no instances found';
    try {
      const urls = await this.o.endpoints.resolve(g);
      const results = await Promise.allSettled(urls.map((u) => this.scrape(u)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          this.o.signals.record(g, urls[i] ?? '', readScrape(parsePrometheusText(r.value), this.o.now()));
          answered++;
        } else reason = r.reason instanceof Error ? r.reason.message : String(r.reason);
      });
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (answered > 0) this.failed.set(id(g), 0);
    else {
      this.failed.set(id(g), this.failures(g) + 1);
      this.o.onError?.(g, reason);
    }
  }
}
