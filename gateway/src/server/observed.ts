// Observed statistics the selection policies read: EWMA latency per backend and mean tokens per route.
// Updated after each attempt by the attempt runner; read by the pure selector through the ObservedStats
// interface.
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { ObservedStats } from '../routing/select.js';

const ALPHA = 0.2;

export class ObservedStatsStore implements ObservedStats {
  private readonly latency = new Map<string, number>();
  private readonly tokenMeans = new Map<string, { input: number; output: number }>();

  private static routeKey(route: CompiledRoute): string {
    return `${route.namespace}/${route.name}`;
  }

  latencyMs(route: CompiledRoute, backend: string): number | undefined {
    return this.latency.get(`${ObservedStatsStore.routeKey(route)}/${backend}`);
  }

  tokens(route: CompiledRoute): { input: number; output: number } | undefined {
    return this.tokenMeans.get(ObservedStatsStore.routeKey(route));
  }

  observeLatency(route: CompiledRoute, backend: string, ms: number): void {
    const k = `${ObservedStatsStore.routeKey(route)}/${backend}`;
    const prev = this.latency.get(k);
    this.latency.set(k, prev === undefined ? ms : prev + ALPHA * (ms - prev));
  }

  observeTokens(route: CompiledRoute, input: number, output: number): void {
    const k = ObservedStatsStore.routeKey(route);
    const prev = this.tokenMeans.get(k);
    this.tokenMeans.set(
      k,
      prev === undefined
        ? { input, output }
        : {
            input: prev.input + ALPHA * (input - prev.input),
            output: prev.output + ALPHA * (output - prev.output),
          },
    );
  }
}
