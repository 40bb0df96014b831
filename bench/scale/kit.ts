// The scale benchmark as one file to carry to a machine that has neither npm, Go nor a network (a
// many-core machine lent for an hour, a customer's node): kit.tar.xz holds the benchmark, the gateway with
// the simulator (kit-cli.ts) and the bare proxy as bundles, the vegeta binary, the o200k_base ranks the
// gateway's token counter reads at run time, and the Node binary they run on; run.sh beside it unpacks it
// once (with xz, or Python's lzma where xz is missing) and runs the benchmark with the arguments it is
// given. Built by `npm run bench:kit`; the gateway in it is the same code the image runs, bundled.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { KIT_MANIFEST, type KitManifest } from './programs.js';

/** The kit's programs: output name → entry point. */
const ENTRIES: Record<string, string> = {
  'bench-scale': 'bench/scale/main.ts',
  beastmode: 'bench/scale/kit-cli.ts',
  'bare-proxy': 'bench/gateway/bare-proxy.ts',
};

/** What the token counter (gateway/src/accounting/bpe-counter.ts) reads from gpt-tokenizer at run time. */
const TOKENIZER_FILES = ['package.json', 'cjs/bpeRanks/o200k_base.js', 'cjs/encodingParams/constants.js'];

/**
 * Loaded only to read a kubeconfig (kube/kubeconfig.ts), which a gateway given its config as a file never
 * does; left out, it would be two thirds of the bundles.
 */
const LEFT_OUT = ['@kubernetes/client-node'];

/** The top directory inside the archive. */
export const KIT_DIR = 'beastmode-scale-kit';

/** CommonJS modules in the bundles call require() for Node's own modules; ESM output has none of its own. */
const REQUIRE_SHIM =
  "import { createRequire as kitCreateRequire } from 'node:module'; const require = kitCreateRequire(import.meta.url);";

const RUN_SH = `#!/bin/sh
# The gateway scale benchmark from its kit (npm run bench:kit): unpacks kit.tar.xz once, then runs the
# benchmark with the carried Node (or the machine's own where the kit carries none), passing every argument
# on: ./run.sh --help
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir="\${BEASTMODE_KIT_UNPACK:-\${TMPDIR:-/tmp}/${KIT_DIR}}"
if ! cmp -s "$here/${KIT_MANIFEST}" "$dir/${KIT_DIR}/${KIT_MANIFEST}"; then
  rm -rf "$dir"
  mkdir -p "$dir"
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$here/kit.tar.xz" | tar -xf - -C "$dir"
  else
    python3 -c 'import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    t.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' "$here/kit.tar.xz" "$dir"
  fi
fi
node="$dir/${KIT_DIR}/node"
[ -x "$node" ] || node=node
exec "$node" "$dir/${KIT_DIR}/bench-scale.mjs" "$@"
`;

export interface KitOptions {
  repoRoot: string;
  /** Where kit.tar.xz, run.sh and kit.json go. */
  out: string;
  /** The vegeta binary to carry. */
  vegeta: string;
  /** The Node binary to carry; undefined: the kit runs on the `node` of the machine it is run on. */
  node: string | undefined;
  /** xz's preset, 0 (fastest) to 9 (smallest). */
  xzLevel: number;
}

export interface Kit {
  archive: string;
  runner: string;
  manifest: KitManifest;
  /** The archive's size in bytes. */
  bytes: number;
}

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...o });
  if (r.error !== undefined) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The commit the tree is at, marked when it has uncommitted changes; "unknown" outside git. */
function commitOf(repoRoot: string): string {
  try {
    const head = run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot });
    return run('git', ['status', '--porcelain'], { cwd: repoRoot }) === '' ? head : `${head}+changes`;
  } catch {
    return 'unknown';
  }
}

/** Builds the kit into `o.out`: kit.tar.xz, run.sh and kit.json. */
export async function buildKit(o: KitOptions): Promise<Kit> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'beastmode-kit-'));
  try {
    const stage = path.join(scratch, KIT_DIR);
    await build({
      absWorkingDir: o.repoRoot,
      entryPoints: ENTRIES,
      outdir: stage,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      external: LEFT_OUT,
      banner: { js: REQUIRE_SHIM },
      logLevel: 'error',
    });
    const tokenizer = path.join(o.repoRoot, 'node_modules', 'gpt-tokenizer');
    for (const f of TOKENIZER_FILES) {
      const to = path.join(stage, 'node_modules', 'gpt-tokenizer', f);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(path.join(tokenizer, f), to);
    }
    copyFileSync(o.vegeta, path.join(stage, 'vegeta'));
    chmodSync(path.join(stage, 'vegeta'), 0o755);
    let nodeVersion: string | undefined;
    if (o.node !== undefined) {
      nodeVersion = run(o.node, ['--version']);
      copyFileSync(o.node, path.join(stage, 'node'));
      chmodSync(path.join(stage, 'node'), 0o755);
    }
    const manifest: KitManifest = {
      commit: commitOf(o.repoRoot),
      built: new Date().toISOString(),
      node: nodeVersion,
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    writeFileSync(path.join(stage, KIT_MANIFEST), manifestText);
    mkdirSync(o.out, { recursive: true });
    const archive = path.join(o.out, 'kit.tar.xz');
    run('tar', ['-C', scratch, '-cJf', archive, KIT_DIR], {
      env: { ...process.env, XZ_OPT: `-${o.xzLevel} -T0` },
    });
    writeFileSync(path.join(o.out, KIT_MANIFEST), manifestText);
    const runner = path.join(o.out, 'run.sh');
    writeFileSync(runner, RUN_SH);
    chmodSync(runner, 0o755);
    return { archive, runner, manifest, bytes: statSync(archive).size };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
