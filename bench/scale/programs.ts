// Where the scale benchmark finds what it runs. In a source checkout: the gateway compiled as the image
// runs it (tsc), the simulator and the bare proxy through tsx, vegeta built from the Go module proxy once
// per machine. In a kit (`npm run bench:kit`, kit.ts): single-file bundles beside the benchmark's own, the
// vegeta binary and, usually, the Node binary, with no repository, npm or Go needed — how the benchmark is
// carried to a machine with many cores that has none of them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureVegeta } from '../lib/vegeta.js';

/** The file that marks a kit's directory and says what it was built from. */
export const KIT_MANIFEST = 'kit.json';

export interface KitManifest {
  /** The commit the kit was built from (with "+changes" when the tree had uncommitted ones). */
  commit: string;
  built: string;
  /** The Node version the kit carries, or undefined when it runs on the machine's own. */
  node: string | undefined;
}

export interface Programs {
  /** What the benchmark runs, printed with its figures: a source checkout, or a kit's commit. */
  origin: string;
  /** The `beastmode` entry point the gateways run: `node <gateway> gateway --port …`. */
  gateway: string;
  /** Node's arguments before `simulator --port …`. */
  simulator: string[];
  /** Node's arguments before the bare proxy's `<port> <upstream>`. */
  bare: string[];
  /** Where the simulators and bare proxies run (tsx resolves their files from it). */
  cwd: string;
  vegeta: string;
  /** Scratch space: configs, keys, vegeta's targets and results. */
  work: string;
}

/** Compiles the shipped code (tsconfig.build.json) into `outDir`: what the image runs. */
function buildGateway(repoRoot: string, outDir: string): string {
  const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc');
  const r = spawnSync(tsc, ['-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
  return path.join(outDir, 'cli', 'main.js');
}

/** The kit `entry` (the benchmark's own script) belongs to, or undefined outside a kit. */
export function kitOf(entry: string | undefined): { dir: string; manifest: KitManifest } | undefined {
  if (entry === undefined) return undefined;
  const dir = path.dirname(path.resolve(entry));
  const file = path.join(dir, KIT_MANIFEST);
  if (!existsSync(file)) return undefined;
  return { dir, manifest: JSON.parse(readFileSync(file, 'utf8')) as KitManifest };
}

/**
 * The programs of this run: the kit's when the benchmark runs from one, else the source checkout's
 * (compiling the gateway and, on a machine's first run, building vegeta).
 */
export async function findPrograms(entry = process.argv[1]): Promise<Programs> {
  const kit = kitOf(entry);
  if (kit !== undefined) {
    const { dir, manifest } = kit;
    return {
      origin: `kit of ${manifest.commit}, built ${manifest.built}`,
      gateway: path.join(dir, 'beastmode.mjs'),
      simulator: [path.join(dir, 'beastmode.mjs')],
      bare: [path.join(dir, 'bare-proxy.mjs')],
      cwd: dir,
      vegeta: path.join(dir, 'vegeta'),
      work: path.join(dir, 'work'),
    };
  }
  const { repoRoot } = await import('../../cluster/paths.js');
  const work = path.join(repoRoot, '.beastmode', 'bench-scale');
  const vegeta = await ensureVegeta((l) => process.stderr.write(`${l}\n`));
  if (vegeta === undefined)
    throw new Error('bench:scale needs vegeta: install Go (it is built once and cached), or run a kit');
  return {
    origin: 'source checkout',
    gateway: buildGateway(repoRoot, path.join(work, 'dist')),
    simulator: ['--import', 'tsx', 'cli/main.ts'],
    bare: ['--import', 'tsx', 'bench/gateway/bare-proxy.ts'],
    cwd: repoRoot,
    vegeta,
    work,
  };
}
