// A test fixture for what shows and acts on an Experiment (the dashboard's view and page, the CLI): one
// concluded A/B experiment on latency with a guardrail, with the status the controller would write,
// parsed through the schema so that its defaults are there as the API server would write them.
import { API_VERSION, Experiment, type ExperimentStatus } from '../api/v1alpha1/index.js';

export const CONCLUDED_STATUS: ExperimentStatus = {
  observedGeneration: 1,
  phase: 'Concluded',
  startedAt: '2026-01-01T00:00:00Z',
  lastTickAt: '2026-01-01T00:10:00Z',
  decidedAt: '2026-01-01T00:10:00Z',
  plannedSamplesPerVariant: 400,
  variants: [
    {
      name: 'control',
      weight: 0.5,
      moments: {
        'latency-ms': { count: 420, sum: 25_242, sumSquares: 1_600_000 },
        'error-rate': { count: 430, sum: 4, sumSquares: 4 },
      },
      mean: { 'latency-ms': 60.1, 'error-rate': 0.0093 },
    },
    {
      name: 'fast',
      weight: 0.5,
      moments: {
        'latency-ms': { count: 350, sum: 1_820, sumSquares: 11_000 },
        'error-rate': { count: 360, sum: 3, sumSquares: 3 },
      },
      mean: { 'latency-ms': 5.2, 'error-rate': 0.0083 },
    },
  ],
  comparisons: [
    { variant: 'fast', standing: 'better', improvement: 54.9, lower: 50.1, upper: 59.7, pValue: 0.0001 },
  ],
  verdict: 'winner',
  winner: 'fast',
  reasons: ['fast: latency-ms better by 54.9 (always-valid interval 50.1 to 59.7)'],
  conditions: [
    {
      type: 'Ready',
      status: 'False',
      reason: 'AwaitingPromotion',
      message: 'winner fast: set spec.promote to fast to serve it to everyone',
      lastTransitionTime: '2026-01-01T00:10:00Z',
      observedGeneration: 1,
    },
  ],
};

/** An Experiment `ab` in `llm` on route `chat`: control (backend main) against fast (backend quick). */
export function experimentFixture(
  /** null: an experiment the controller has not seen yet. */
  status: ExperimentStatus | null = CONCLUDED_STATUS,
  spec: Record<string, unknown> = {},
): Experiment {
  return Experiment.parse({
    apiVersion: API_VERSION,
    kind: 'Experiment',
    metadata: { name: 'ab', namespace: 'llm', generation: 1 },
    spec: {
      routeRef: { name: 'chat' },
      variants: [
        { name: 'control', backend: 'main' },
        { name: 'fast', backend: 'quick', template: { systemPrompt: 'a-private-system-prompt' } },
      ],
      primary: { metric: 'latency-ms', minimumDetectableEffect: 20 },
      guardrails: [{ metric: 'error-rate', tolerance: 0.01 }],
      ...spec,
    },
    ...(status !== null ? { status } : {}),
  });
}
