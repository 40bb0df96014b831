// The `beastmode` command line (also a kubectl plugin: `kubectl beastmode …`). Subcommands dispatch by
// their first word; `canary` lives here, `gateway` belongs to the gateway and is loaded when present.
import { parseArgs } from 'node:util';
import { canaryAbort, canaryPromote, canaryStatus, type CanaryTarget } from './canary.js';

const USAGE = `Usage: beastmode <command> [options]

Commands:
  canary status <name> [--watch]   Phase, step, weight, per-variant figures and conditions
  canary promote <name>            Approve the current candidate (spec.promotion.approvedRevision)
  canary abort <name>              Roll the candidate back now (spec.abort: true)
  gateway …                        The gateway's own commands

Options:
  -n, --namespace <ns>     Namespace (default: the kubeconfig context's, else "default")
      --kubeconfig <path>  Kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)
  -w, --watch              Keep printing the status as it changes
  -h, --help               This help
`;

/** Subcommands owned by other components: module path (relative to this file) and exported function. */
const EXTERNAL: Record<string, { module: string; run: string }> = {
  gateway: { module: '../../../gateway/src/cli.js', run: 'runGatewayCli' },
};

async function runExternal(name: string, args: string[]): Promise<number> {
  const ext = EXTERNAL[name];
  if (!ext) return 2;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ext.module)) as Record<string, unknown>;
  } catch {
    process.stderr.write(`beastmode: the "${name}" command is not available in this build\n`);
    return 2;
  }
  const run = mod[ext.run];
  if (typeof run !== 'function') {
    process.stderr.write(`beastmode: ${ext.module} does not export ${ext.run}\n`);
    return 2;
  }
  return (await (run as (a: string[]) => Promise<number | void>)(args)) ?? 0;
}

async function runCanary(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      namespace: { type: 'string', short: 'n' },
      kubeconfig: { type: 'string' },
      watch: { type: 'boolean', short: 'w' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [verb, name] = positionals;
  if (values.help || verb === undefined) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (name === undefined) throw new Error(`canary ${verb}: name the canary`);
  const target: CanaryTarget = {
    name,
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
  };
  const out = { write: (t: string) => void process.stdout.write(t) };
  switch (verb) {
    case 'status': {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      await canaryStatus(target, out, { watch: values.watch ?? false, signal: ac.signal });
      return 0;
    }
    case 'promote':
      await canaryPromote(target, out);
      return 0;
    case 'abort':
      await canaryAbort(target, out);
      return 0;
    default:
      throw new Error(`unknown canary command "${verb}" (status, promote, abort)`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'canary':
        return await runCanary(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        if (command in EXTERNAL) return await runExternal(command, rest);
        process.stderr.write(`beastmode: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`beastmode: ${(e as Error).message}\n`);
    return 1;
  }
}

const invoked = process.argv[1] ?? '';
if (/cli[\\/]main\.(ts|js)$/.test(invoked)) {
  process.exitCode = await main(process.argv.slice(2));
  // --watch keeps a timer; SIGINT ends it through the abort signal.
}
