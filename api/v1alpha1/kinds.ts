// What the API server needs to know about each kind beyond its schema: names, printer columns, subresources.
import type { z } from 'zod';
import { GROUP, VERSION } from './common.js';
import { ModelGateway } from './modelgateway.js';
import { ModelRoute } from './modelroute.js';
import { Canary } from './canary.js';
import { AutoscalingPolicy } from './autoscalingpolicy.js';
import { Experiment } from './experiment.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

const ready: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const reason: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
};
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const CATEGORY = 'beastmode';

export const KINDS: readonly KindInfo[] = [
  {
    kind: 'ModelGateway',
    plural: 'modelgateways',
    singular: 'modelgateway',
    shortNames: ['mgw'],
    schema: ModelGateway,
    printerColumns: [
      ready,
      reason,
      {
        name: 'Replicas',
        type: 'integer',
        jsonPath: '.status.readyReplicas',
        description: 'Ready gateway pods',
      },
      { name: 'Routes', type: 'integer', jsonPath: '.status.attachedRoutes', description: 'Routes attached' },
      { name: 'Address', type: 'string', jsonPath: '.status.address', priority: 1 },
      age,
    ],
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    },
  },
  {
    kind: 'ModelRoute',
    plural: 'modelroutes',
    singular: 'modelroute',
    shortNames: ['mr'],
    schema: ModelRoute,
    printerColumns: [
      ready,
      reason,
      { name: 'Model', type: 'string', jsonPath: '.spec.model' },
      { name: 'Gateway', type: 'string', jsonPath: '.spec.gatewayRef.name' },
      { name: 'Backends', type: 'integer', jsonPath: '.status.backendCount' },
      {
        name: 'Canary',
        type: 'number',
        jsonPath: '.status.canaryWeight',
        description: 'Percent to the canary',
      },
      age,
    ],
  },
  {
    kind: 'Canary',
    plural: 'canaries',
    singular: 'canary',
    shortNames: ['mcanary'],
    schema: Canary,
    printerColumns: [
      ready,
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      {
        name: 'Weight',
        type: 'number',
        jsonPath: '.status.canaryWeight',
        description: 'Percent to the candidate',
      },
      { name: 'Step', type: 'integer', jsonPath: '.status.currentStep', priority: 1 },
      reason,
      age,
    ],
  },
  {
    kind: 'AutoscalingPolicy',
    plural: 'autoscalingpolicies',
    singular: 'autoscalingpolicy',
    shortNames: ['asp'],
    schema: AutoscalingPolicy,
    printerColumns: [
      ready,
      reason,
      { name: 'Target', type: 'string', jsonPath: '.spec.targetRef.name' },
      { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicas' },
      { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicas' },
      { name: 'Current', type: 'integer', jsonPath: '.status.currentReplicas' },
      age,
    ],
  },
  {
    kind: 'Experiment',
    plural: 'experiments',
    singular: 'experiment',
    shortNames: ['mexp'],
    schema: Experiment,
    printerColumns: [
      ready,
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Verdict', type: 'string', jsonPath: '.status.verdict' },
      { name: 'Winner', type: 'string', jsonPath: '.status.winner' },
      { name: 'Route', type: 'string', jsonPath: '.spec.routeRef.name', priority: 1 },
      age,
    ],
  },
];

export const API_GROUP = GROUP;
export const API_GROUP_VERSION = VERSION;

export function kindInfo(kind: string): KindInfo {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return k;
}
