// Every controller the operator runs, in one explicit list: main.ts hands it to the manager. What the
// controllers keep between reconciles (compiled routes, canary metric baselines, the gateways' answers on
// credentials) is created here, once per list, so two operators in one process never share it.
import type { OperatorConfig } from '../config.js';
import { CompiledRouteMemo } from '../render/route-compile.js';
import type { ControllerDefinition } from '../runtime/framework.js';
import type { AutoscalingRuntime } from '../autoscaling/runtime.js';
import { createAutoscalingPolicyController } from './autoscalingpolicy.js';
import { canaryDeps, createCanaryController } from './canary.js';
import { createCredentialsController, CredentialReports } from './credentials.js';
import { createExperimentController, experimentDeps } from './experiment.js';
import { gatewayInstances, type GatewayInstances } from './gateway-instances.js';
import { createModelGatewayController } from './modelgateway.js';
import { createModelRouteController } from './modelroute.js';

export interface ControllerDeps {
  /** Where the gateways' instances serve /metrics (canary analysis, credential probes, autoscaling). */
  instances: GatewayInstances;
  /** The autoscaling runtime, when the operator serves external metrics. */
  autoscaling?: Pick<AutoscalingRuntime, 'metrics'> | undefined;
}

export function operatorControllers(
  cfg: Pick<OperatorConfig, 'gatewayMetricsUrls'>,
  deps: ControllerDeps = { instances: gatewayInstances(cfg.gatewayMetricsUrls) },
): ControllerDefinition[] {
  // The gateway and route controllers judge the same routes: one memo spares compiling each twice.
  const compiled = new CompiledRouteMemo();
  // The canary analysis, the credential probes and the autoscaler scrape the same instances of a gateway.
  const { instances } = deps;
  const credentials = new CredentialReports();
  return [
    createModelGatewayController(compiled),
    createModelRouteController({ compiled, credentials }),
    createCredentialsController({ instances, reports: credentials }),
    createAutoscalingPolicyController(deps.autoscaling),
    createCanaryController(canaryDeps(instances)),
    createExperimentController(experimentDeps(instances)),
  ];
}
