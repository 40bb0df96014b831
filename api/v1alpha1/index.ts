// The v1alpha1 API of beastmode.dev: schemas, inferred types, kind metadata and the GatewayConfig contract.
export * from './common.js';
export * from './conditions.js';
export * from './tracing.js';
export * from './modelgateway.js';
export * from './selection.js';
export * from './modelroute.js';
export * from './compliance.js';
export * from './canary.js';
export * from './autoscalingpolicy.js';
export * from './gatewayconfig.js';
export * from './canary-overlay.js';
export * from './kinds.js';
export * from './metrics.js';
export * from './shadow.js';
export * from './experiment.js';
export * from './experiment-compiled.js';
export * from './assignment.js';
