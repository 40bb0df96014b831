// AutoscalingPolicy controller: renders the HorizontalPodAutoscaler for a ModelGateway's Deployment or any
// Deployment, and reports the HPA's view in the policy's status.
import type { AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { translateAutoscalingPolicy } from '../render/autoscaling.js';
import {
  controllerOwnerKey,
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
} from '../runtime/framework.js';
import { POLICIES_BY_TARGET, autoscalingSnapshot, routeIndexes } from './snapshot.js';

async function reconcileAutoscalingPolicy(key: string, ctx: ControllerContext): Promise<void> {
  const { namespace, name } = splitKey(key);
  const asp = ctx.cache.get<AutoscalingPolicy>('AutoscalingPolicy', namespace, name);
  if (!asp || asp.metadata.deletionTimestamp) return;
  const out = translateAutoscalingPolicy(autoscalingSnapshot(ctx.cache, asp), new Date(ctx.now()));
  if (out.hpa) await ctx.apply('HorizontalPodAutoscaler', out.hpa);
  const obj = asp as unknown as KubeObject;
  const before = asp.status?.conditions?.find((c) => c.type === 'Ready');
  await ctx.patchStatus('AutoscalingPolicy', obj, out.status);
  const after = out.status.conditions?.find((c) => c.type === 'Ready');
  if (after && before?.reason !== after.reason && after.status !== 'True') {
    ctx.events.emit(obj, 'Warning', after.reason, 'Reconcile', after.message);
  }
}

export const autoscalingPolicyController: ControllerDefinition = {
  name: 'autoscalingpolicy',
  kind: 'AutoscalingPolicy',
  concurrency: 2,
  indexes: routeIndexes,
  watches: [
    { kind: 'HorizontalPodAutoscaler', mapToKeys: (o) => controllerOwnerKey(o, 'AutoscalingPolicy') },
    {
      kind: 'Deployment',
      mapToKeys: (o, ctx) => {
        const ns = o.metadata.namespace ?? '';
        const gw = o.metadata.labels?.['beastmode.dev/gateway'];
        return [
          ...ctx.cache.byIndex(
            'AutoscalingPolicy',
            POLICIES_BY_TARGET,
            `${ns}/Deployment/${o.metadata.name}`,
          ),
          ...(gw
            ? ctx.cache.byIndex('AutoscalingPolicy', POLICIES_BY_TARGET, `${ns}/ModelGateway/${gw}`)
            : []),
        ].map(keyOf);
      },
      predicate: (type) => type !== 'update',
    },
    {
      kind: 'ModelGateway',
      mapToKeys: (o, ctx) =>
        ctx.cache
          .byIndex('AutoscalingPolicy', POLICIES_BY_TARGET, `${keyOf(o)}`.replace('/', '/ModelGateway/'))
          .map(keyOf),
      predicate: (type) => type !== 'update',
    },
  ],
  reconcile: reconcileAutoscalingPolicy,
};
