// The built-in controllers, and the optional modules other engineers contribute (the Canary controller in
// canary.ts). An optional module plugs in by exporting `register(env)`, which calls registerController;
// a module that is not there yet is skipped.
import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../observability/logger.js';
import { autoscalingPolicyController } from './autoscalingpolicy.js';
import { registerController, registeredControllers, type ControllerDefinition } from './framework.js';
import { modelGatewayController } from './modelgateway.js';
import { modelRouteController } from './modelroute.js';

export const BUILTIN_CONTROLLERS: ControllerDefinition[] = [
  modelGatewayController,
  modelRouteController,
  autoscalingPolicyController,
];

/** What an optional controller module receives to build its dependencies. */
export interface ControllerEnv {
  client: KubeClient;
  log: Logger;
}

/** A module that contributes controllers: `export function register(env) { registerController(…) }`. */
export interface ControllerModule {
  register?: (env: ControllerEnv) => void | Promise<void>;
}

const OPTIONAL_CONTROLLER_MODULES = ['./canary.js'];

const isMissing = (e: unknown, spec: string): boolean =>
  (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
  String((e as Error).message).includes(spec.slice(2, -3));

/** Registers the built-in controllers and the optional ones; returns every registered controller. */
export async function loadControllers(env: ControllerEnv): Promise<ControllerDefinition[]> {
  const names = new Set(registeredControllers().map((c) => c.name));
  for (const c of BUILTIN_CONTROLLERS) if (!names.has(c.name)) registerController(c);
  for (const spec of OPTIONAL_CONTROLLER_MODULES) {
    const before = registeredControllers().length;
    let mod: ControllerModule;
    try {
      mod = (await import(spec)) as ControllerModule;
    } catch (e) {
      if (isMissing(e, spec)) continue;
      throw e;
    }
    if (typeof mod.register === 'function') await mod.register(env);
    else if (registeredControllers().length === before) {
      env.log.warn('Controller module registered nothing and exports no register(env)', { module: spec });
    }
  }
  return registeredControllers();
}
