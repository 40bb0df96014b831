// The security metrics (names from api/v1alpha1/metrics.ts), on the gateway's registry. Every label set is
// bounded: `key` is a key's name from the keys file (or the fixed "unknown" for a key that verified as
// none), `model` a route's configured model, never a presented secret, its digest or a prompt.
import client from 'prom-client';
import { METRICS } from '../../../api/v1alpha1/index.js';
import { FoldedSeries } from '../server/folded-series.js';
import type { AnomalyScore } from './anomaly.js';

export class SecurityMetrics {
  readonly authFailures: client.Counter<'key' | 'reason'>;
  readonly modelRefusals: client.Counter<'key' | 'model'>;
  readonly budgetExhaustions: client.Counter<'namespace' | 'route' | 'key' | 'action'>;
  readonly callerRequests: client.Counter<'key' | 'team'>;
  readonly anomalyScore: client.Gauge<'key' | 'signal'>;
  readonly anomalies: client.Counter<'key' | 'signal'>;
  readonly piiDetections: client.Counter<'namespace' | 'route' | 'detector' | 'action'>;
  readonly complianceRefusals: client.Counter<'namespace' | 'route' | 'reason'>;
  /** Every request of a known caller counts in callerRequests: folded, not labelled per request. */
  readonly folded = new FoldedSeries();
  private readScores: () => readonly AnomalyScore[] = () => [];

  constructor(registers: client.Registry[]) {
    this.authFailures = new client.Counter({
      name: METRICS.authFailures,
      help: 'Requests refused a caller, by reason (missing|malformed|unknown|revoked); key: the revoked key, else "unknown"',
      labelNames: ['key', 'reason'],
      registers,
    });
    this.modelRefusals = new client.Counter({
      name: METRICS.modelRefusals,
      help: "Requests for a model outside the key's scope",
      labelNames: ['key', 'model'],
      registers,
    });
    this.budgetExhaustions = new client.Counter({
      name: METRICS.budgetExhaustions,
      help: 'Requests a budget could not fit, by action (refused|fallback: served by the cheaper backend)',
      labelNames: ['namespace', 'route', 'key', 'action'],
      registers,
    });
    this.callerRequests = new client.Counter({
      name: METRICS.callerRequests,
      help: 'Requests of authenticated callers, admitted or not',
      labelNames: ['key', 'team'],
      registers,
      collect: this.folded.collect,
    });
    this.anomalyScore = new client.Gauge({
      name: METRICS.keyAnomalyScore,
      help: "How far a key's last complete minute lies above its own history, in spreads (0 during warm-up)",
      labelNames: ['key', 'signal'],
      registers,
      // A pod's workers each score the share of a key's traffic they see: the pod reports the highest.
      aggregator: 'max',
      collect: () => {
        this.anomalyScore.reset();
        for (const s of this.readScores()) this.anomalyScore.set({ key: s.key, signal: s.signal }, s.score);
      },
    });
    this.anomalies = new client.Counter({
      name: METRICS.keyAnomalies,
      help: "Minutes in which a key's score crossed the anomaly threshold after one that had not",
      labelNames: ['key', 'signal'],
      registers,
    });
    this.piiDetections = new client.Counter({
      name: METRICS.piiDetections,
      help: "Values a route's PII policy found in requests, by detector and action (redact|block); never a value",
      labelNames: ['namespace', 'route', 'detector', 'action'],
      registers,
    });
    this.complianceRefusals = new client.Counter({
      name: METRICS.complianceRefusals,
      help: "Requests a route's compliance policy refused, by reason (pii-blocked|backend-not-allowed)",
      labelNames: ['namespace', 'route', 'reason'],
      registers,
    });
  }

  /** Where the anomaly scores are read at every scrape (rolled to the scrape's time first). */
  watchAnomalies(scores: () => readonly AnomalyScore[]): void {
    this.readScores = scores;
  }
}
