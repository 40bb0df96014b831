// The manifests the demo applies: what a platform team would keep in Git for one model name served by an
// in-cluster model (with a hosted premium model as the fallback), and a canary for the in-cluster backend.
export const DEMO_NS = 'demo';

export interface SimulatorUrls {
  premium: string;
  llamaV1: string;
  llamaV2: string;
  llamaBad: string;
}

/** USD per million tokens (input, output), as declared in the route. */
export const PRICES: Record<string, { input: number; output: number }> = {
  llama: { input: 0.1, output: 0.2 },
  premium: { input: 2.5, output: 10 },
};

/**
 * The in-cluster llama pool (its pods stand in for vLLM replicas) and its autoscaler, on the gateway's view
 * of the llama backend: requests in flight per replica (spilled-over demand included) and the request rate,
 * ahead of its forecast.
 */
const POOL_MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm-llama
spec:
  replicas: 1
  selector: { matchLabels: { app: vllm-llama } }
  template:
    metadata: { labels: { app: vllm-llama } }
    spec:
      containers: [{ name: server, image: 'vllm/vllm-openai:v0.11.0' }]
---
apiVersion: beastmode.dev/v1alpha1
kind: AutoscalingPolicy
metadata:
  name: vllm-llama
spec:
  targetRef: { kind: Deployment, name: vllm-llama }
  backend: { route: chat, name: llama }
  minReplicas: 1
  maxReplicas: 4
  metrics:
    - { type: inflight-requests, targetAverage: 5 }
    - { type: requests-per-second, targetAverage: 120 }
  predictive: { horizon: 1m, seasonality: 1h }
  behavior:
    scaleUp: { stabilizationWindowSeconds: 0 }
    scaleDown: { stabilizationWindowSeconds: 10 }
`;

export function demoManifests(sims: SimulatorUrls): string {
  return `
apiVersion: beastmode.dev/v1alpha1
kind: ModelGateway
metadata:
  name: default
spec:
  replicas: 2
  # The simulated model servers listen on loopback: internal addresses are refused unless listed here.
  egress:
    allow: ['127.0.0.0/8']
---
apiVersion: beastmode.dev/v1alpha1
kind: ModelRoute
metadata:
  name: chat
spec:
  gatewayRef: { name: default }
  model: chat
  backends:
    - name: llama
      provider: openai-compatible
      url: ${sims.llamaV1}
      pricing: { inputPerMillionTokens: ${PRICES.llama?.input}, outputPerMillionTokens: ${PRICES.llama?.output} }
      weight: 100
      # While the pool's queue is full (429s) the excess goes to the premium model, until the pool has grown.
      spillOver: { to: premium }
    - name: premium
      provider: openai
      url: ${sims.premium}
      pricing: { inputPerMillionTokens: ${PRICES.premium?.input}, outputPerMillionTokens: ${PRICES.premium?.output} }
      weight: 0
  fallback: { maxAttempts: 3 }
  retry: { attempts: 0 }
  timeouts: { firstToken: 5s, total: 30s }
  cache: { mode: exact, ttl: 10m, scope: route, cacheNonDeterministic: true }
---
apiVersion: beastmode.dev/v1alpha1
kind: Canary
metadata:
  name: chat-llama
spec:
  routeRef: { name: chat }
  backend: llama
  steps: [1, 5, 25, 50, 100]
  interval: 5s
  analysis:
    # At 1% of ~70 uncached req/s a 5s window holds ~3 canary requests: enough for a demo, not for production.
    minRequests: 2
    failureThreshold: 2
    progressDeadline: 2m
    metrics:
      - { name: error-rate, max: 0.05 }
      - { name: latency-p95, max: 400 }
      - { name: feedback-score, min: 0.6 }
---
${POOL_MANIFESTS}`;
}
