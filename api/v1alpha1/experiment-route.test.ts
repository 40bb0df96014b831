import { parse } from 'yaml';
import {
  Experiment,
  GatewayConfig,
  ModelRoute,
  compileRoute,
  experimentOverlayFor,
  finishGatewayConfig,
  type CompiledExperiment,
  type CompiledRoute,
} from './index.js';

const route = ModelRoute.parse(
  parse(`
apiVersion: beastmode.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat, namespace: llm }
spec:
  gatewayRef: { name: default }
  model: chat
  backends:
    - name: llama
      service: { name: vllm, port: 8000 }
      model: llama-3.1
    - name: qwen
      service: { name: vllm-qwen, port: 8000 }
      model: qwen-2.5
`),
);

const experiment = (status: unknown, spec: Record<string, unknown> = {}) =>
  Experiment.parse({
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name: 'tone', namespace: 'llm' },
    spec: {
      routeRef: { name: 'chat' },
      variants: [
        { name: 'control', backend: 'llama', weight: 1 },
        {
          name: 'terse',
          backend: 'qwen',
          weight: 3,
          template: { systemPrompt: 'Be terse.', temperature: 0.2 },
        },
      ],
      primary: { metric: 'feedback-score', minimumDetectableEffect: 0.02 },
      ...spec,
    },
    status,
  });

const configOf = (routes: unknown[]) =>
  GatewayConfig.safeParse(
    finishGatewayConfig({
      gateway: { namespace: 'llm', name: 'default' },
      limits: {
        maxRequestBytes: 1_048_576,
        maxConcurrentRequests: 100,
        requestTimeoutSeconds: 60,
        headersTimeoutSeconds: 10,
      },
      cache: { maxEntries: 100, maxEntryBytes: 1_048_576 },
      logLevel: 'info',
      routes: routes as CompiledRoute[],
    }),
  );

describe('compiling an experiment onto its route', () => {
  it('carries a running experiment with its status weights, and validates', () => {
    const overlay = experimentOverlayFor(
      experiment({
        phase: 'Running',
        specHash: 'abc123',
        variants: [
          { name: 'control', weight: 0.5 },
          { name: 'terse', weight: 0.5 },
        ],
      }),
    );
    expect(overlay).toBeDefined();
    const compiled = compileRoute(route, undefined, overlay);
    expect(compiled.experiment).toEqual({
      name: 'tone',
      revision: 'abc123',
      subject: 'user',
      variants: [
        { name: 'control', backend: 'llama', weight: 0.5 },
        {
          name: 'terse',
          backend: 'qwen',
          weight: 0.5,
          template: { systemPrompt: 'Be terse.', temperature: 0.2 },
        },
      ],
    });
    const parsed = configOf([compiled]);
    expect(parsed.success).toBe(true);
  });

  it('compiles a route without an experiment byte for byte as before', () => {
    expect(JSON.stringify(compileRoute(route, undefined, undefined))).toBe(
      JSON.stringify(compileRoute(route)),
    );
    expect('experiment' in compileRoute(route)).toBe(false);
    expect(experimentOverlayFor(experiment({ phase: 'Pending' }))).toBeUndefined();
  });

  it('carries a promoted winner, which every subject then gets', () => {
    const overlay = experimentOverlayFor(experiment({ phase: 'Promoted', promotedVariant: 'terse' }));
    expect(overlay?.promoted).toBe('terse');
    expect(overlay?.variants.map((v) => v.weight)).toEqual([0, 1]);
    expect(configOf([compileRoute(route, undefined, overlay)]).success).toBe(true);
  });

  it('refuses a variant whose backend the route does not have', () => {
    const overlay = experimentOverlayFor(
      experiment(
        { phase: 'Running' },
        {
          variants: [
            { name: 'control', backend: 'llama' },
            { name: 'other', backend: 'mistral' },
          ],
        },
      ),
    ) as CompiledExperiment;
    const parsed = configOf([compileRoute(route, undefined, overlay)]);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toContain(
      'experiment tone: variant other names backend mistral, which the route does not have',
    );
  });

  it('refuses a promoted variant that does not exist and a split with no weight', () => {
    const overlay = experimentOverlayFor(experiment({ phase: 'Running' })) as CompiledExperiment;
    const promoted = configOf([compileRoute(route, undefined, { ...overlay, promoted: 'nobody' })]);
    expect(promoted.error?.issues.map((i) => i.message)).toContain(
      'experiment tone: promoted variant nobody is not one of its variants',
    );
    const zero = { ...overlay, variants: overlay.variants.map((v) => ({ ...v, weight: 0 })) };
    expect(configOf([compileRoute(route, undefined, zero)]).error?.issues.map((i) => i.message)).toContain(
      'experiment tone: at least one variant needs a weight above 0',
    );
  });
});
