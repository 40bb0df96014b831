// Where a gateway's instances serve /metrics, for every controller that scrapes them (canary analysis,
// credential probes): the static map of --gateway-metrics-url first (local processes), then the Ready pods
// of the gateway's status.selector. One resolver per operator, bound to a controller context (its client
// and cache) on first use.
import type { V1Pod } from '@kubernetes/client-node';
import type { ModelGateway } from '../../../api/v1alpha1/index.js';
import type { ResourceType } from '../../../kube/resources.js';
import {
  ChainedGatewayEndpoints,
  KubeGatewayEndpoints,
  StaticGatewayEndpoints,
  type GatewayEndpoints,
  type PodSource,
} from '../rollout/providers/endpoints.js';
import type { ControllerContext } from '../runtime/framework.js';

const POD: ResourceType = { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true };

export interface GatewayInstances {
  endpoints: GatewayEndpoints;
  /** Gives the cluster resolver its client and cache (a controller context, or the manager's). */
  bind: (ctx: Pick<ControllerContext, 'cache' | 'client'>) => void;
}

export function gatewayInstances(gatewayMetricsUrls: Map<string, string[]>): GatewayInstances {
  let pods: PodSource | undefined;
  return {
    endpoints: new ChainedGatewayEndpoints([
      new StaticGatewayEndpoints(gatewayMetricsUrls),
      new KubeGatewayEndpoints(() => pods),
    ]),
    bind: (ctx) => {
      pods ??= {
        gatewaySelector: (g) =>
          ctx.cache.get<ModelGateway>('ModelGateway', g.namespace, g.name)?.status?.selector,
        listPods: async (ns, labelSelector) =>
          (await ctx.client.list(POD, ns, { labelSelector })).items as unknown as V1Pod[],
      };
    },
  };
}
