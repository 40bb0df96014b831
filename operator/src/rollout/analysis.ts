// Judges one analysis window: the canary variant's figures against the bounds in spec.analysis.metrics.
// Too few canary requests make a window inconclusive, never failed.
import type { CanaryMetric, CanarySpec, VariantFigures } from '../../../api/v1alpha1/index.js';
import type { AnalysisResult } from './types.js';

export type Verdict = 'passed' | 'failed' | 'inconclusive';

export interface Judgement {
  verdict: Verdict;
  /** Why the window failed or was inconclusive, one line per reason. */
  failures: string[];
}

/** A variant's figure for a judged metric (the analysis and the operator's metrics read it alike). */
export function valueOf(metric: CanaryMetric['name'], f: VariantFigures): number | undefined {
  switch (metric) {
    case 'error-rate':
      return f.errorRate;
    case 'latency-p95':
      return f.latencyP95Ms;
    case 'ttft-p95':
      return f.ttftP95Ms;
    case 'cost-per-request':
      return f.costPerRequest;
    case 'feedback-score':
      return f.feedbackScore;
    default: {
      const never: never = metric;
      throw new Error(`unknown canary metric ${String(never)}`);
    }
  }
}

const UNIT: Record<CanaryMetric['name'], string> = {
  'error-rate': '',
  'latency-p95': 'ms',
  'ttft-p95': 'ms',
  'cost-per-request': ' USD',
  'feedback-score': '',
};

/** A figure rounded for messages: 4 significant digits. */
export function formatFigure(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Checks each bound; a metric without data in the window (no feedback given, say) is not judged. */
export function judgeWindow(analysis: CanarySpec['analysis'], result: AnalysisResult | undefined): Judgement {
  if (result === undefined) return { verdict: 'inconclusive', failures: ['metrics unavailable'] };
  const c = result.canary;
  if (c.requests < analysis.minRequests) {
    return {
      verdict: 'inconclusive',
      failures: [`${c.requests} canary requests, fewer than minRequests ${analysis.minRequests}`],
    };
  }
  const failures: string[] = [];
  for (const m of analysis.metrics) {
    const v = valueOf(m.name, c);
    if (v === undefined) continue;
    const unit = UNIT[m.name];
    if (m.max !== undefined && v > m.max) {
      failures.push(`${m.name} ${formatFigure(v)}${unit} > max ${formatFigure(m.max)}${unit}`);
    }
    if (m.min !== undefined && v < m.min) {
      failures.push(`${m.name} ${formatFigure(v)}${unit} < min ${formatFigure(m.min)}${unit}`);
    }
  }
  return { verdict: failures.length > 0 ? 'failed' : 'passed', failures };
}

/** One line of figures for events and the CLI: "120 req, errors 0.5%, p95 180ms, ttft 90ms". */
export function describeFigures(f: VariantFigures | undefined): string {
  if (f === undefined) return 'no data';
  const parts = [`${f.requests} req`];
  if (f.errorRate !== undefined) parts.push(`errors ${formatFigure(f.errorRate * 100)}%`);
  if (f.latencyP95Ms !== undefined) parts.push(`p95 ${formatFigure(f.latencyP95Ms)}ms`);
  if (f.ttftP95Ms !== undefined) parts.push(`ttft-p95 ${formatFigure(f.ttftP95Ms)}ms`);
  if (f.costPerRequest !== undefined) parts.push(`cost/req $${formatFigure(f.costPerRequest)}`);
  if (f.feedbackScore !== undefined) parts.push(`feedback ${formatFigure(f.feedbackScore)}`);
  return parts.join(', ');
}
