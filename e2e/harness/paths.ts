// Where the harness finds the repository and keeps its state.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The Go module that builds the control plane binaries. */
export const controlPlaneModuleDir = join(repoRoot, 'e2e', 'controlplane');
/** State of a cluster started by `npm run cluster:up` (kubeconfig, pid file, data, logs). */
export const clusterStateDir = join(repoRoot, '.beastmode', 'cluster');
/** State of the control plane that the e2e global setup starts. */
export const e2eStateDir = join(repoRoot, '.beastmode', 'e2e');
