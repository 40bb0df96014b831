// Every controller the operator runs, in one explicit list: main.ts hands it to the manager.
import type { OperatorConfig } from '../config.js';
import type { ControllerDefinition } from '../runtime/framework.js';
import { autoscalingPolicyController } from './autoscalingpolicy.js';
import { canaryDeps, createCanaryController } from './canary.js';
import { modelGatewayController } from './modelgateway.js';
import { modelRouteController } from './modelroute.js';

export function operatorControllers(cfg: Pick<OperatorConfig, 'gatewayMetricsUrls'>): ControllerDefinition[] {
  return [
    modelGatewayController,
    modelRouteController,
    autoscalingPolicyController,
    createCanaryController(canaryDeps(cfg.gatewayMetricsUrls)),
  ];
}
