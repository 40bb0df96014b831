// The helm binary for tests that render the chart without a cluster: $E2E_HELM, the one the e2e setup
// recorded, or any cached local control plane build (`npm run cluster:build` makes one); undefined when
// there is none (the tests that need it skip).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function findHelm(root: string): string | undefined {
  if (process.env.E2E_HELM && existsSync(process.env.E2E_HELM)) return process.env.E2E_HELM;
  const recorded = join(root, '.beastmode', 'e2e', 'binaries.json');
  if (existsSync(recorded)) {
    const { helm } = JSON.parse(readFileSync(recorded, 'utf8')) as { helm?: string };
    if (helm && existsSync(helm)) return helm;
  }
  const cache = join(homedir(), '.cache', 'beastmode');
  if (existsSync(cache)) {
    for (const d of readdirSync(cache)) {
      const p = join(cache, d, 'bin', 'helm');
      if (!d.includes('.tmp') && existsSync(p)) return p;
    }
  }
  return undefined;
}
