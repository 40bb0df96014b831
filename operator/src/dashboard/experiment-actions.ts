// Promote and abort of an Experiment from the dashboard: the CLI's own operations
// (cli/experiment-actions.ts) made with the viewer's bearer token, as canary actions are (actions.ts), so
// the API server's RBAC on experiments decides and the operator's own rights are never lent out.
import {
  EXPERIMENT_ABORT_PATCH,
  experimentPromotionPatch,
  patchExperimentSpec,
} from '../../../cli/experiment-actions.js';
import type { Experiment } from '../../../api/v1alpha1/index.js';
import type { KubeClient } from '../../../kube/client.js';
import { R } from '../../../kube/resources.js';
import { runSpecAction, type ActionOutcome, type CanaryAction, type SpecActions } from './actions.js';

/** The same two verbs as a canary's: promote the winner, abort. */
export type ExperimentAction = CanaryAction;

const EXPERIMENT_ACTIONS: SpecActions<Experiment> = {
  resource: R.Experiment,
  promote: (experiment) => {
    const patch = experimentPromotionPatch(experiment);
    return { patch: { ...patch }, message: `promote ${patch.promote} set; every subject gets it next` };
  },
  abortPatch: EXPERIMENT_ABORT_PATCH,
  patchSpec: patchExperimentSpec,
  aborted: 'abort set; every subject goes back to the route as written',
};

/** Runs one action as the viewer; API refusals come back with their status and the server's message. */
export const runExperimentAction = (
  client: KubeClient,
  action: ExperimentAction,
  namespace: string,
  name: string,
): Promise<ActionOutcome> => runSpecAction(EXPERIMENT_ACTIONS, client, action, namespace, name);
