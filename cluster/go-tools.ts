// Go tools built from the Go module proxy once per machine: `go install <module>@<version>` into
// ~/.cache/beastmode/<name>-<version>/<name>, under the cache's build lock (cluster/build.ts), so parallel
// runs build once and a CI machine that keeps ~/.cache builds never again. Used for vegeta (benchmarks),
// trivy (the configuration scan) and promtool (the alert-rule tests).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultCacheRoot, formatElapsed, withBuildLock } from './build.js';

export interface GoTool {
  /** The binary's name, and the cache directory's prefix. */
  name: string;
  /** The package path to install, e.g. github.com/tsenart/vegeta/v12. */
  module: string;
  version: string;
  /** Extra environment for the build (e.g. GOEXPERIMENT). */
  env?: Record<string, string>;
  /** Extra `go install` flags (e.g. -ldflags=-s -w). */
  flags?: string[];
}

export function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).error === undefined;
}

function goInstall(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('go', args, { env, cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    c.on('error', reject);
    c.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

/** The tool's binary, built on the first call on a machine; undefined when it is not cached and Go is absent. */
export async function ensureGoTool(
  tool: GoTool,
  onProgress: (line: string) => void,
): Promise<string | undefined> {
  const cacheRoot = defaultCacheRoot();
  const dir = path.join(cacheRoot, `${tool.name}-${tool.version}`);
  const bin = path.join(dir, tool.name);
  if (existsSync(bin)) return bin;
  if (!hasGo()) return undefined;
  return withBuildLock(cacheRoot, onProgress, async () => {
    if (existsSync(bin)) return bin;
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const started = Date.now();
    onProgress(`Building ${tool.name} ${tool.version} into ${dir} (go install, once per machine)`);
    // Outside any module: `go install pkg@version` builds with the module's own go.mod.
    await goInstall(['install', ...(tool.flags ?? []), `${tool.module}@${tool.version}`], {
      ...process.env,
      GOBIN: staging,
      GOFLAGS: `${process.env.GOFLAGS ?? ''} -trimpath -buildvcs=false`.trim(),
      GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
      CGO_ENABLED: '0',
      ...tool.env,
    });
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    onProgress(`Built ${tool.name} in ${formatElapsed(Date.now() - started)}`);
    return bin;
  });
}
