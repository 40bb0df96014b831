// Where the harness finds the repository and keeps its state.
// The root is found from the working directory (npm and jest run from the repository or below it) rather than
// from import.meta, because jest loads the global setup as CommonJS and the suites as ESM.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function findRepoRoot(): string {
  const markers = (dir: string): boolean => existsSync(join(dir, 'cluster', 'controlplane', 'go.mod'));
  for (let dir = resolve(process.cwd()); ; dir = dirname(dir)) {
    if (markers(dir)) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `cannot find the Beast Mode repository (cluster/controlplane/go.mod) above ${process.cwd()}`,
  );
}

/** The repository root. */
export const repoRoot = findRepoRoot();
/** The Go module that builds the control plane binaries. */
export const controlPlaneModuleDir = join(repoRoot, 'cluster', 'controlplane');
/** State of a cluster started by `npm run cluster:up` (kubeconfig, pid file, data, logs). */
export const clusterStateDir = join(repoRoot, '.beastmode', 'cluster');
/** State of the control planes that the e2e global setup starts (one run-<pid> directory per run). */
export const e2eStateDir = join(repoRoot, '.beastmode', 'e2e');
