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
  /** AutoscalingPolicy: the gateways cannot be read, the HPA holds the declared fallback replicas. */
  Fallback: 'Fallback',
  /** ModelRoute: a backend with spillOver is saturated and its excess goes to another backend. */
  SpillingOver: 'SpillingOver',
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
  /**
   * The gateway's instances report that they cannot read a backend's credential (the Secret or its key is
   * missing, or not yet mounted in their pods): the route is valid, Ready says it does not work yet.
   */
  CredentialsUnavailable: 'CredentialsUnavailable',
  ModelConflict: 'ModelConflict',
  /** A backend is at its in-flight bound or answers 429/503: its excess goes to its spillOver target. */
  BackendSaturated: 'BackendSaturated',
  /** Every backend with spillOver keeps up with its traffic. */
  WithinCapacity: 'WithinCapacity',
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
  // Experiment
  /** The experiment ended without promotion: no difference, or a winner reported only (control serves). */
  Concluded: 'Concluded',
  /** A treatment is worse than the control by more than a guardrail's tolerance: the control serves. */
  GuardrailBreach: 'GuardrailBreach',
  /** An older Experiment already splits the same route. */
  ExperimentConflict: 'ExperimentConflict',
  /** A Canary is rolling out a backend of the experiment's variants: the experiment waits for it. */
  CanaryInProgress: 'CanaryInProgress',
  // AutoscalingPolicy
  TargetNotFound: 'TargetNotFound',
  ScalingActive: 'ScalingActive',
  /** The HPA cannot compute a replica count from its metrics (its own reason is in the message). */
  MetricsUnavailable: 'MetricsUnavailable',
  FallbackActive: 'FallbackActive',
  MetricsAvailable: 'MetricsAvailable',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
