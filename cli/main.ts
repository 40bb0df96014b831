// `beastmode <command>`: the one entry point of the project, used by bin/beastmode.js (and so by
// `kubectl beastmode`), the image's ENTRYPOINT, the Helm chart, the operator's gateway Deployments, the
// demo and the benchmarks. Each command's module is loaded only when it runs, so `beastmode canary` does not
// load the gateway, nor the gateway the operator.
import { pathToFileURL } from 'node:url';
import { readFlags, type CommandSpec } from './flags.js';
import { isObjectVerb, runObjectVerb, TARGET_FLAGS, WATCH_FLAG } from './target.js';

type Run = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number | undefined>;

interface Command {
  summary: string;
  load: () => Promise<Run>;
}

const COMMANDS: Record<string, Command> = {
  operator: {
    summary: 'Run the control plane (watches the CRDs, renders gateways, runs canaries)',
    load: async () => (await import('../operator/src/main.js')).runOperator,
  },
  gateway: {
    summary: 'Run the data plane (the OpenAI-compatible gateway)',
    load: async () => (await import('../gateway/src/main.js')).runGateway,
  },
  canary: {
    summary: 'status | promote | abort a Canary through the Kubernetes API',
    load: () => Promise.resolve(runCanary),
  },
  experiment: {
    summary: 'status | promote | abort an Experiment through the Kubernetes API',
    load: async () => (await import('./experiment.js')).runExperiment,
  },
  router: {
    summary: 'train | eval the quality/cost router on rows with known answers',
    load: async () => (await import('../gateway/src/routing/router-cli.js')).runRouter,
  },
  cache: {
    summary: 'eval the semantic cache on paraphrase pairs with known answers',
    load: async () => (await import('../gateway/src/cache/semantic/cache-cli.js')).runCache,
  },
  embeddings: {
    summary: 'Run an embeddings server on the bundled sentence encoder (for the semantic cache and router)',
    load: async () => (await import('../gateway/src/embeddings/main.js')).runEmbeddings,
  },
  cluster: {
    summary: 'build | up | down a local Kubernetes control plane (source checkouts only)',
    load: () => devTool('../cluster/cli.js', 'runCluster', 'the local cluster'),
  },
  simulator: {
    summary: 'Run a simulated model server with injectable faults (source checkouts only)',
    load: () => devTool('../simulator/main.js', 'runSimulator', 'the simulator'),
  },
};

/** A development tool's command: in source checkouts, not in the image (its module is not built there). */
async function devTool(path: string, exported: string, what: string): Promise<Run> {
  try {
    return ((await import(path)) as Record<string, Run>)[exported] as Run;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new Error(`${what} is a development tool and is not in this build; run it from a source checkout`);
  }
}

export const USAGE = `Usage: beastmode <command> [flags]     (beastmode <command> --help for its flags)

Beast Mode: a Kubernetes-native control plane for LLM traffic.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(11)}${c.summary}`)
  .join('\n')}
`;

export const CANARY_COMMAND: CommandSpec = {
  name: 'beastmode canary',
  usage: 'status|promote|abort <name> [flags]',
  summary:
    'status   phase, step, weight, per-variant figures and conditions (--watch to follow)\n' +
    'promote  approve the current candidate (sets spec.promotion.approvedRevision, as Git would)\n' +
    'abort    roll the candidate back now (sets spec.abort: true)',
  flags: { ...TARGET_FLAGS, watch: WATCH_FLAG },
};

async function runCanary(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const read = readFlags(CANARY_COMMAND, args, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return 0;
  }
  if (read.kind === 'error') throw new Error(read.message);
  const [verb, name] = read.positionals;
  if (verb === undefined) {
    process.stderr.write(`beastmode canary: name a verb\n\n`);
    return 2;
  }
  if (name === undefined) throw new Error(`canary ${verb}: name the canary`);
  if (!isObjectVerb(verb)) throw new Error(`unknown canary command "${verb}" (status, promote, abort)`);
  const { canaryAbort, canaryPromote, canaryStatus } = await import('./canary.js');
  return runObjectVerb(verb, name, read.values, {
    status: canaryStatus,
    promote: canaryPromote,
    abort: canaryAbort,
  });
}

/** Runs one command; resolves with its exit code, or undefined while a server it started keeps running. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`beastmode: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (
      await command.load()
    )(rest, env);
  } catch (e) {
    process.stderr.write(`beastmode ${name}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
}
