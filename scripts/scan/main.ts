// `npm run scan`: trivy's configuration checks on the Helm chart (rendered by trivy's own Helm scanner, with
// the default values and with the external metrics API on), the objects the operator renders for gateways
// (its golden files) and the Dockerfile, failing on any HIGH or CRITICAL finding that .trivyignore.yaml does not accept with a
// reason. trivy is built from the Go module proxy once per machine into
// ~/.cache/beastmode/trivy-<version>/ (the cache and lock of cluster/build.ts), and runs with the checks it
// embeds (no download at scan time).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultCacheRoot, formatElapsed, withBuildLock } from '../../cluster/build.js';

export const TRIVY_MODULE = 'github.com/aquasecurity/trivy/cmd/trivy';
export const TRIVY_VERSION = 'v0.74.0';

const HELP = `Usage: npm run scan [-- --help]

Runs trivy config (HIGH and CRITICAL) on charts/beastmode, the operator's renders of gateways and the
Dockerfile, with the accepted findings of
.trivyignore.yaml, and exits non-zero on any other. The first run on a machine builds trivy ${TRIVY_VERSION} from
the Go module proxy (several minutes; cached under ~/.cache/beastmode).`;

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  quiet: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, cwd, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
    c.on('error', reject);
    c.on('close', (code) => resolve(code ?? 1));
  });
}

/** The trivy binary, built into the cache on the first call on a machine. */
async function ensureTrivy(say: (line: string) => void): Promise<string> {
  const cacheRoot = defaultCacheRoot();
  const dir = path.join(cacheRoot, `trivy-${TRIVY_VERSION}`);
  const bin = path.join(dir, 'trivy');
  if (existsSync(bin)) return bin;
  return withBuildLock(cacheRoot, say, async () => {
    if (existsSync(bin)) return bin;
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const started = Date.now();
    say(`Building trivy ${TRIVY_VERSION} into ${dir} (go install, once per machine)`);
    const env = {
      ...process.env,
      GOBIN: staging,
      GOFLAGS: `${process.env.GOFLAGS ?? ''} -trimpath -buildvcs=false`.trim(),
      GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
      // trivy uses encoding/json/v2, an experiment in Go 1.26.
      GOEXPERIMENT: 'jsonv2',
      CGO_ENABLED: '0',
    };
    const code = await run(
      'go',
      ['install', '-ldflags=-s -w', `${TRIVY_MODULE}@${TRIVY_VERSION}`],
      env,
      tmpdir(),
      false,
    );
    if (code !== 0) throw new Error(`go install ${TRIVY_MODULE}@${TRIVY_VERSION} exited ${code}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    say(`Built trivy in ${formatElapsed(Date.now() - started)}`);
    return bin;
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const root = path.resolve(import.meta.dirname, '../..');
  const trivy = await ensureTrivy((line) => process.stdout.write(`==> ${line}\n`));
  const cache = path.join(tmpdir(), `beastmode-trivy-${process.getuid?.() ?? 0}`);
  let failed = 0;
  const targets: [string, string[]][] = [
    ['charts/beastmode', []],
    ['charts/beastmode', ['--helm-set', 'externalMetrics.enabled=true']],
    ['operator/src/render/testdata', []],
    ['Dockerfile', []],
  ];
  for (const [target, extra] of targets) {
    process.stdout.write(`==> trivy config ${[...extra, target].join(' ')}\n`);
    const code = await run(
      trivy,
      [
        'config',
        '--quiet',
        '--skip-check-update',
        '--cache-dir',
        cache,
        '--severity',
        'HIGH,CRITICAL',
        '--ignorefile',
        '.trivyignore.yaml',
        '--exit-code',
        '1',
        ...extra,
        target,
      ],
      process.env,
      root,
      false,
    );
    if (code !== 0) failed++;
  }
  process.stdout.write(
    failed === 0 ? 'No HIGH or CRITICAL finding.\n' : `${failed} target(s) with findings.\n`,
  );
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`scan: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
