// Test fixtures for the canary machine: builders for a route and a canary, and a harness that steps the
// machine with a fake clock the way the controller does (metrics only for a window that has closed).
import { z } from 'zod';
import {
  API_VERSION,
  Canary,
  CanarySpec,
  type Backend,
  type CanaryStatus,
  type ModelRoute,
  type VariantFigures,
} from '../api/v1alpha1/index.js';
import { advanceCanary, dueWindow } from '../operator/src/rollout/engine.js';
import type { AnalysisResult, CanaryEvent, CanaryTickResult } from '../operator/src/rollout/types.js';

export const STABLE_BACKEND: Backend = {
  name: 'main',
  provider: 'openai-compatible',
  url: 'http://sim-stable:8000/v1',
  model: 'llama-3-8b',
  weight: 1,
};

export const CANDIDATE_BACKEND: Backend = { ...STABLE_BACKEND, model: 'llama-3.1-8b' };

export function newRouteFixture(backend: Backend = STABLE_BACKEND): ModelRoute {
  return {
    apiVersion: API_VERSION,
    kind: 'ModelRoute',
    metadata: { name: 'chat', namespace: 'llm', generation: 1 },
    spec: { gatewayRef: { name: 'default' }, model: 'chat', backends: [backend] },
  };
}

export type CanarySpecInput = Partial<z.input<typeof CanarySpec>>;

export function healthyFigures(requests = 200): VariantFigures {
  return { requests, errorRate: 0.001, latencyP95Ms: 120, ttftP95Ms: 60, costPerRequest: 0.0001 };
}

export const HEALTHY: AnalysisResult = { stable: healthyFigures(5000), canary: healthyFigures(200) };

export interface Window {
  since: Date;
  until: Date;
  weight: number;
}

export class CanaryFixture {
  canary: Canary;
  route: ModelRoute;
  now: Date;
  events: CanaryEvent[] = [];
  /** Figures the fake provider answers for a window; undefined = the provider failed. */
  metrics: (w: Window) => AnalysisResult | undefined = () => HEALTHY;
  windows: Window[] = [];
  last: CanaryTickResult | undefined;
  writes = 0;

  constructor(spec: CanarySpecInput, route: ModelRoute, now: Date) {
    this.route = route;
    this.now = now;
    this.canary = {
      apiVersion: API_VERSION,
      kind: 'Canary',
      metadata: { name: 'chat', namespace: 'llm', generation: 1 },
      spec: CanarySpec.parse({
        routeRef: { name: 'chat' },
        backend: 'main',
        interval: '5s',
        analysis: {
          minRequests: 50,
          failureThreshold: 2,
          metrics: [
            { name: 'error-rate', max: 0.01 },
            { name: 'latency-p95', max: 500 },
          ],
        },
        ...spec,
      }),
    };
  }

  get status(): CanaryStatus {
    return this.canary.status ?? {};
  }

  /** One reconcile at the current time, as the controller does it. */
  tick(): CanaryTickResult {
    const w = dueWindow(this.canary, this.now);
    let metrics: AnalysisResult | undefined;
    if (w) {
      const win = { ...w, weight: this.status.canaryWeight ?? 0 };
      this.windows.push(win);
      metrics = this.metrics(win);
    }
    const r = advanceCanary({ canary: this.canary, route: this.route, metrics, now: this.now });
    if (JSON.stringify(r.status) !== JSON.stringify(this.canary.status ?? {})) this.writes++;
    this.canary = { ...this.canary, status: r.status };
    this.events.push(...r.events);
    this.last = r;
    return r;
  }

  /** Moves the fake clock. */
  sleep(ms: number): this {
    this.now = new Date(this.now.getTime() + ms);
    return this;
  }

  /** Follows the machine's own requeue n times (a requeue of 0 ticks at once). */
  advance(n = 1): this {
    for (let i = 0; i < n; i++) {
      const after = this.last?.requeueAfterMs ?? 0;
      this.sleep(after);
      this.tick();
    }
    return this;
  }

  /** Ticks until the phase is reached (at most `limit` ticks). */
  advanceUntil(phase: CanaryStatus['phase'], limit = 50): this {
    for (let i = 0; i < limit && this.status.phase !== phase; i++) this.advance();
    if (this.status.phase !== phase)
      throw new Error(`phase ${this.status.phase} after ${limit} ticks, want ${phase}`);
    return this;
  }

  setSpec(patch: CanarySpecInput): this {
    const g = (this.canary.metadata.generation ?? 1) + 1;
    this.canary = {
      ...this.canary,
      metadata: { ...this.canary.metadata, generation: g },
      spec: CanarySpec.parse({ ...this.canary.spec, ...patch }),
    };
    return this;
  }

  setRouteBackend(backend: Backend): this {
    this.route = { ...this.route, spec: { ...this.route.spec, backends: [backend] } };
    return this;
  }

  condition(type: string): { status: string; reason: string } | undefined {
    return this.status.conditions?.find((c) => c.type === type);
  }

  /** A copy that starts from this fixture's status only, as an operator restart does. */
  restarted(): CanaryFixture {
    const f = new CanaryFixture({}, this.route, this.now);
    f.canary = Canary.parse(JSON.parse(JSON.stringify(this.canary)));
    f.metrics = this.metrics;
    return f;
  }
}

export function newCanaryFixture(
  spec: CanarySpecInput = {},
  opts: { route?: ModelRoute; now?: Date } = {},
): CanaryFixture {
  return new CanaryFixture(
    spec,
    opts.route ?? newRouteFixture(),
    opts.now ?? new Date('2026-01-01T00:00:00Z'),
  );
}
