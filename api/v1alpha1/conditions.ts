// Condition types and reasons used by every kind, following the Kubernetes API conventions and kstatus:
// Ready is always present; Reconciling and Stalled appear only when True, never both.
export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Accepted: 'Accepted',
  ResolvedRefs: 'ResolvedRefs',
  Available: 'Available',
  Progressing: 'Progressing',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // Generic
  Succeeded: 'Succeeded',
  Progressing: 'Progressing',
  Reconciled: 'Reconciled',
  ReconcileError: 'ReconcileError',
  InvalidSpec: 'InvalidSpec',
  // ModelGateway
  DeploymentNotReady: 'DeploymentNotReady',
  DeploymentReady: 'DeploymentReady',
  ConfigPending: 'ConfigPending',
  // ModelRoute
  Accepted: 'Accepted',
  GatewayNotFound: 'GatewayNotFound',
  BackendNotFound: 'BackendNotFound',
  SecretNotFound: 'SecretNotFound',
  ModelConflict: 'ModelConflict',
  // Canary
  Initializing: 'Initializing',
  Waiting: 'Waiting',
  Paused: 'Paused',
  AwaitingPromotion: 'AwaitingPromotion',
  Promoting: 'Promoting',
  Promoted: 'Promoted',
  RolledBack: 'RolledBack',
  Aborted: 'Aborted',
  AnalysisFailed: 'AnalysisFailed',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  RouteNotFound: 'RouteNotFound',
  // AutoscalingPolicy
  TargetNotFound: 'TargetNotFound',
  ScalingActive: 'ScalingActive',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
