// npm run bench:kit: builds the scale benchmark's kit (kit.ts) for a machine without npm, Go or a network.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { repoRoot } from '../../cluster/paths.js';
import { ensureVegeta } from '../lib/vegeta.js';
import { buildKit } from './kit.js';

const USAGE = `Usage: npm run bench:kit -- [options]

Builds the gateway scale benchmark (npm run bench:scale) into one archive that runs where there is no npm,
Go or network: the benchmark, the gateway, the simulator and the bare proxy bundled, vegeta, and the Node
binary they run on. Carry the output directory, then run its run.sh with bench:scale's options:
  <out>/run.sh --policy bare,on,full --together
  <out>/run.sh --mode workers
  <out>/run.sh --latency --policy bare,on,full

  --out DIR        where kit.tar.xz, run.sh and kit.json go (default .beastmode/scale-kit)
  --node PATH      the Node binary to carry (default: the one running this, the project's pinned Node);
         none      carry none: the kit runs on the machine's own node (22 or later)
  --xz 6           xz's preset, 0 (fastest) to 9 (smallest archive; little smaller than 6, minutes slower)
  -h, --help       this help
`;

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(repoRoot, '.beastmode', 'scale-kit') },
    node: { type: 'string', default: process.execPath },
    xz: { type: 'string', default: '6' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const xzLevel = Number(values.xz);
if (!Number.isInteger(xzLevel) || xzLevel < 0 || xzLevel > 9) {
  process.stderr.write(`bench:kit: --xz takes 0 to 9\n\n${USAGE}`);
  process.exit(2);
}

/** A path relative to the working directory when it is below it, else whole. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') ? file : relative;
}

async function main(): Promise<void> {
  const vegeta = await ensureVegeta((l) => process.stderr.write(`${l}\n`));
  if (vegeta === undefined)
    throw new Error('the kit carries vegeta: install Go (it is built once and cached)');
  const out = path.resolve(values.out);
  const kit = await buildKit({
    repoRoot,
    out,
    vegeta,
    node: values.node === 'none' ? undefined : values.node,
    xzLevel,
  });
  process.stdout.write(
    `${kit.archive}: ${(kit.bytes / 2 ** 20).toFixed(1)} MiB, commit ${kit.manifest.commit}, ` +
      `${kit.manifest.node === undefined ? 'no Node (runs on the machine’s own)' : `Node ${kit.manifest.node}`}\n` +
      `Run it: ${shown(kit.runner)} --help\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:kit failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
