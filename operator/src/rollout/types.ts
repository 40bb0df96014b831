// The plain data the canary engine and its metric providers exchange: analysis figures per variant, the
// query a provider answers, and what one tick of the engine returns.
import type { CanaryStatus, VariantFigures } from '../../../api/v1alpha1/index.js';
import type { Verdict } from './analysis.js';

export const VARIANTS = ['stable', 'canary'] as const;
export type Variant = (typeof VARIANTS)[number];

/** Figures of one analysis window, per variant of the canary's backend (shadow: its mirrored calls). */
export type AnalysisResult = Record<Variant, VariantFigures> & { shadow?: VariantFigures };

/** One analysis window of one backend of one route. */
export interface MetricQuery {
  namespace: string;
  route: string;
  backend: string;
  /** The ModelGateway serving the route: where the gateway provider finds instances to scrape. */
  gateway: string;
  since: Date;
  until: Date;
  /** The canary is in its shadow phase: the figures of the shadow variant are wanted too. */
  shadow?: boolean;
}

/** The narrow interface every metric source implements (one file per implementation). */
export interface MetricProvider {
  analyse(query: MetricQuery): Promise<AnalysisResult>;
}

export interface CanaryEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CanaryTickResult {
  status: CanaryStatus;
  events: CanaryEvent[];
  /** When to tick again; 0 means at once (a phase that completes on the next tick). */
  requeueAfterMs: number;
  /** The verdict on the analysis window this tick judged, if it judged one (counted by the metrics). */
  verdict?: Verdict;
}
