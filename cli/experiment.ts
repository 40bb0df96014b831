// `beastmode experiment status|promote|abort`: reads and patches Experiment objects through the Kubernetes
// API (kube/client.ts). Promotion and abort are spec changes (a merge patch, cli/experiment-actions.ts, the
// same one the operator's dashboard makes with the viewer's token), so they are the operations Git would make.
import { R } from '../kube/resources.js';
import { ExperimentSpec, type Experiment } from '../api/v1alpha1/index.js';
import { readFlags, type CommandSpec } from './flags.js';
import { formatExperimentStatus } from './experiment-format.js';
import {
  EXPERIMENT_ABORT_PATCH,
  experimentPromotionPatch,
  patchExperimentSpec,
} from './experiment-actions.js';
import { ObjectApi, printStatus, type ObjectKind } from './object-api.js';
import {
  isObjectVerb,
  runObjectVerb,
  TARGET_FLAGS,
  WATCH_FLAG,
  type ObjectTarget,
  type Output,
  type StatusOptions,
} from './target.js';

const VERBS = {
  status: {
    name: 'beastmode experiment status',
    usage: '<name> [flags]',
    summary:
      'Phase, verdict and winner, planned vs collected samples, per variant the share of subjects and the\n' +
      'samples and mean of each metric, per treatment its improvement over the control with the always-valid\n' +
      'interval, p-value and standing, guardrail breaches, reasons and conditions.',
    flags: {
      ...TARGET_FLAGS,
      watch: WATCH_FLAG,
    },
  },
  promote: {
    name: 'beastmode experiment promote',
    usage: '<name> [flags]',
    summary:
      'Serve the winner to every subject: sets spec.promote to status.winner. Refused until the experiment\n' +
      'has concluded with a winner, and unless spec.promotion is manual.',
    flags: TARGET_FLAGS,
  },
  abort: {
    name: 'beastmode experiment abort',
    usage: '<name> [flags]',
    summary: 'Stop now (sets spec.abort: true): every subject goes back to the route as written.',
    flags: TARGET_FLAGS,
  },
} satisfies Record<string, CommandSpec>;

export const EXPERIMENT_COMMAND: CommandSpec = {
  name: 'beastmode experiment',
  usage: 'status|promote|abort <name> [flags]   (beastmode experiment <verb> --help for each)',
  summary:
    'status   variants, comparisons with the control, verdict and conditions (--watch to follow)\n' +
    'promote  serve the winner to everyone (sets spec.promote = status.winner)\n' +
    'abort    stop now (sets spec.abort: true)',
  flags: VERBS.status.flags,
};

const EXPERIMENT: ObjectKind<Experiment> = {
  resource: R.Experiment,
  spec: ExperimentSpec,
  word: 'experiment',
  patchSpec: patchExperimentSpec,
};

const connect = (t: ObjectTarget) => ObjectApi.connect(EXPERIMENT, t);

export async function experimentStatus(
  t: ObjectTarget,
  out: Output,
  opts: StatusOptions = {},
): Promise<void> {
  const api = await connect(t);
  await printStatus(() => api.get(), formatExperimentStatus, out, opts);
}

/** Promotes the winner: spec.promote = status.winner; throws while there is none. */
export async function experimentPromote(t: ObjectTarget, out: Output): Promise<void> {
  const api = await connect(t);
  const patch = experimentPromotionPatch(await api.get());
  await api.patchSpec({ ...patch });
  out.write(
    `experiment ${api.namespace}/${t.name}: promote ${patch.promote} set; ` +
      'every subject gets it once the operator has marked the experiment Promoted\n',
  );
}

export async function experimentAbort(t: ObjectTarget, out: Output): Promise<void> {
  const api = await connect(t);
  await api.get();
  await api.patchSpec({ ...EXPERIMENT_ABORT_PATCH });
  out.write(
    `experiment ${api.namespace}/${t.name}: abort set; every subject goes back to the route as written at ` +
      'the next reconcile. Set spec.abort back to false to start again\n',
  );
}

/** `beastmode experiment …`: `--help` answers for the command and for each verb. */
export async function runExperiment(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [first, ...rest] = args;
  const spec = isObjectVerb(first) ? VERBS[first] : EXPERIMENT_COMMAND;
  const read = readFlags(spec, isObjectVerb(first) ? rest : args, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return 0;
  }
  if (read.kind === 'error') throw new Error(read.message);
  if (!isObjectVerb(first)) {
    process.stderr.write(
      first === undefined
        ? 'beastmode experiment: name a verb (status, promote, abort)\n'
        : `beastmode experiment: unknown verb "${first}" (status, promote, abort)\n`,
    );
    return 2;
  }
  const [name] = read.positionals;
  if (name === undefined) throw new Error(`experiment ${first}: name the experiment`);
  return runObjectVerb(first, name, read.values, {
    status: experimentStatus,
    promote: experimentPromote,
    abort: experimentAbort,
  });
}
