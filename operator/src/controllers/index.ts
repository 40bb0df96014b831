// Every controller the operator runs, in one explicit list: main.ts hands it to the manager. What the
// controllers keep between reconciles (compiled routes, canary metric baselines, the gateways' answers on
// credentials) is created here, once per list, so two operators in one process never share it.
import type { OperatorConfig } from '../config.js';
import { CompiledRouteMemo } from '../render/route-compile.js';
import type { ControllerDefinition } from '../runtime/framework.js';
import { autoscalingPolicyController } from './autoscalingpolicy.js';
import { canaryDeps, createCanaryController } from './canary.js';
import { createCredentialsController, CredentialReports } from './credentials.js';
import { gatewayInstances } from './gateway-instances.js';
import { createModelGatewayController } from './modelgateway.js';
import { createModelRouteController } from './modelroute.js';

export function operatorControllers(cfg: Pick<OperatorConfig, 'gatewayMetricsUrls'>): ControllerDefinition[] {
  // The gateway and route controllers judge the same routes: one memo spares compiling each twice.
  const compiled = new CompiledRouteMemo();
  // The canary analysis and the credential probes scrape the same instances of a gateway.
  const instances = gatewayInstances(cfg.gatewayMetricsUrls);
  const credentials = new CredentialReports();
  return [
    createModelGatewayController(compiled),
    createModelRouteController({ compiled, credentials }),
    createCredentialsController({ instances, reports: credentials }),
    autoscalingPolicyController,
    createCanaryController(canaryDeps(instances)),
  ];
}
