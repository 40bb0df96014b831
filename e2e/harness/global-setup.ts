// Jest global setup of the e2e project: uses the cluster in $E2E_KUBECONFIG when set (kind, any cluster),
// otherwise starts the local control plane (building it first on a new machine) and exports its kubeconfig
// through E2E_KUBECONFIG. With --runInBand the suites run in this process and inherit the variable.
//
// Jest loads this file with Node's own TypeScript support (type stripping), which does not map the `.js`
// specifiers of our sources to `.ts` files; the harness is therefore loaded through tsx. Only erasable
// TypeScript syntax may appear here and in global-teardown.ts.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { ControlPlane } from '../../cluster/control-plane.js';

declare global {
  var __BEASTMODE_CONTROL_PLANE__: ControlPlane | undefined;
}

/**
 * Each run has its own directory (.beastmode/e2e/run-<pid>): runs in parallel (several engineers, one tree)
 * must not share certificates or etcd data. Directories of finished runs stay for their logs until the next
 * run removes them.
 */
function pruneStaleRuns(root: string): void {
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}

type Harness = typeof import('../../cluster/control-plane.js') & typeof import('../../cluster/paths.js');

export default async function globalSetup(
  _globalConfig: unknown,
  projectConfig: { rootDir: string },
): Promise<void> {
  if (process.env.E2E_KUBECONFIG) {
    process.stderr.write(
      `\n[e2e] using the existing cluster of E2E_KUBECONFIG=${process.env.E2E_KUBECONFIG}\n`,
    );
    return;
  }
  const started = Date.now();
  const base = pathToFileURL(join(projectConfig.rootDir, 'e2e', 'harness', 'global-setup.ts')).href;
  const harness = {
    ...((await tsImport(
      '../../cluster/control-plane.ts',
      base,
    )) as typeof import('../../cluster/control-plane.js')),
    ...((await tsImport('../../cluster/paths.ts', base)) as typeof import('../../cluster/paths.js')),
  } as Harness;
  const dir = join(harness.e2eStateDir, `run-${process.pid}`);
  pruneStaleRuns(harness.e2eStateDir);
  mkdirSync(dir, { recursive: true });
  const log = (line: string): void => {
    process.stderr.write(`[e2e] ${line}\n`);
  };
  process.stderr.write('\n');
  const cp = await harness.startControlPlane({ dir, log });
  globalThis.__BEASTMODE_CONTROL_PLANE__ = cp;
  process.env.E2E_KUBECONFIG = cp.kubeconfigPath;
  process.env.E2E_HELM = cp.binaries.helm;
  process.env.E2E_LOCAL_CONTROL_PLANE = '1';
  log(`local control plane ${cp.kubernetesVersion} up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
