// `npm run scan`: trivy's configuration checks on the Helm chart (rendered by trivy's own Helm scanner, with
// the default values and with the external metrics API on), the objects the operator renders for gateways
// (its golden files) and the Dockerfile, failing on any HIGH or CRITICAL finding that .trivyignore.yaml does
// not accept with a reason. trivy is built from the Go module proxy once per machine into
// ~/.cache/beastmode/trivy-<version>/ (cluster/go-tools.ts), and runs with the checks it embeds (no download
// at scan time).
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureGoTool } from '../../cluster/go-tools.js';

export const TRIVY_MODULE = 'github.com/aquasecurity/trivy/cmd/trivy';
export const TRIVY_VERSION = 'v0.74.0';

const HELP = `Usage: npm run scan [-- --help]

Runs trivy config (HIGH and CRITICAL) on charts/beastmode, the operator's renders of gateways and the
Dockerfile, with the accepted findings of
.trivyignore.yaml, and exits non-zero on any other. The first run on a machine builds trivy ${TRIVY_VERSION} from
the Go module proxy (several minutes; cached under ~/.cache/beastmode).`;

function run(cmd: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('error', reject);
    c.on('close', (code) => resolve(code ?? 1));
  });
}

/** The trivy binary, built into the cache on the first call on a machine. */
async function ensureTrivy(say: (line: string) => void): Promise<string> {
  const bin = await ensureGoTool(
    {
      name: 'trivy',
      module: TRIVY_MODULE,
      version: TRIVY_VERSION,
      // trivy uses encoding/json/v2, an experiment in Go 1.26.
      env: { GOEXPERIMENT: 'jsonv2' },
      flags: ['-ldflags=-s -w'],
    },
    say,
  );
  if (bin === undefined) throw new Error(`trivy is not built and Go is not installed to build it`);
  return bin;
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
    // Everything optional on: the dashboard (tokenreview: its review permissions), Grafana dashboards,
    // monitors, alert rules and the embeddings server.
    [
      'charts/beastmode',
      [
        '--helm-set',
        'dashboard.enabled=true,dashboard.auth=tokenreview,grafana.dashboards.enabled=true,' +
          'serviceMonitor.enabled=true,podMonitor.enabled=true,prometheusRule.enabled=true,' +
          'embeddings.enabled=true',
      ],
    ],
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
      root,
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
