// The control plane of the rollout suites (canary, shadow, experiment), set up in one namespace of the
// cluster under test: the CRDs and the namespace, the ModelGateway `main`, the gateway as a local process
// watching its ConfigMap, the operator as a child process scraping that gateway, simulators as backends;
// and the teardown of all of it. The suites write their own routes, Canaries and Experiments.
import { join } from 'node:path';
import { kubectl, kubectlOk, kubeconfigPath, eventually, repoRoot } from './env.js';
import { startOperator, type OperatorProcess } from '../../bench/operator/process.js';
import type { KubeClient, KubeObject } from '../../kube/client.js';
import type { ResourceType } from '../../kube/resources.js';
import { R } from '../../kube/resources.js';
import { startGateway, type Gateway } from '../../gateway/src/server/gateway.js';
import type { Simulator } from '../../simulator/simulator.js';
import { createLogger } from '../../gateway/src/log.js';

/** Applies the CRDs, waits until they are served, and creates the namespace `ns`. */
export async function createRolloutNamespace(ns: string): Promise<void> {
  await kubectlOk(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  await kubectlOk(['create', 'namespace', ns]);
  // The operator lists Secrets as metadata; an empty namespace answers `items: null`, which its client does
  // not take yet (operator/src/kube/client.ts). One Secret keeps the list non-empty.
  await kubectlOk(['create', 'secret', 'generic', 'placeholder', '-n', ns, '--from-literal=k=v']);
}

/** The ModelGateway `main` every rollout suite routes through. */
export function mainModelGateway(ns: string): [KubeObject, ResourceType] {
  return [
    {
      apiVersion: 'beastmode.dev/v1alpha1',
      kind: 'ModelGateway',
      metadata: { name: 'main', namespace: ns },
      // The simulators listen on loopback, which the egress policy refuses unless allowed.
      spec: { replicas: 1, egress: { allow: ['127.0.0.0/8'] } },
    },
    R.ModelGateway,
  ];
}

/** A route backend named `main` on a simulator, answering as `model`. */
export function simulatorBackend(sim: Simulator, model: string) {
  return { name: 'main', url: `${sim.url}/v1`, model };
}

/** Applies the objects in order, server-side, under the field manager `e2e`. */
export async function applyAll(client: KubeClient, objects: [KubeObject, ResourceType][]): Promise<void> {
  for (const [o, r] of objects) await client.apply(r, o, 'e2e');
}

/** The gateway of ModelGateway `main` as a local process, serving the config the operator writes. */
export function startMainGateway(client: KubeClient, ns: string): Promise<Gateway> {
  return startGateway({
    port: 0,
    host: '127.0.0.1',
    source: { configMap: { namespace: ns, name: 'main-gateway-config' }, client },
    logger: createLogger('warn'),
  });
}

/** The operator as a child process watching `ns` alone, reading the gateway's metrics. */
export function startRolloutOperator(ns: string, port: number, gateway: Gateway): Promise<OperatorProcess> {
  return startOperator({
    repoRoot,
    kubeconfig: kubeconfigPath(),
    port,
    identity: `op-${Date.now().toString(36)}`,
    args: ['--no-leader-elect', '--namespaces', ns, '--log-level', 'info'],
    env: { BEASTMODE_GATEWAY_METRICS_URLS: `main=${gateway.url}/metrics` },
  });
}

/** Waits until the gateway answers a chat request for `model`. */
export async function waitUntilServed(gateway: Gateway, model: string): Promise<void> {
  await eventually(`the gateway to serve the ${model} route`, async () => {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    return r.ok ? true : undefined;
  });
}

/** Stops what a rollout suite started (any part may be missing when its set-up failed) and drops `ns`. */
export async function tearDownRollout(
  ns: string,
  parts: {
    operator: OperatorProcess | undefined;
    gateway: Gateway | undefined;
    sims: Record<string, Simulator | undefined>;
  },
): Promise<void> {
  await parts.operator?.stop('SIGTERM');
  await parts.gateway?.close(1000);
  for (const s of Object.values(parts.sims)) await s?.close();
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
}

export interface KubeEvent {
  type: string;
  reason: string;
  note?: string;
  regarding?: { kind?: string; name?: string };
}

/** The events.k8s.io Events in `ns`. */
export async function listEvents(ns: string): Promise<KubeEvent[]> {
  const list = JSON.parse(await kubectlOk(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json'])) as {
    items: KubeEvent[];
  };
  return list.items;
}
