// Builds (once per machine) the local control plane's binaries from the Go module in cluster/controlplane:
// `bmcp` (embedded etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a fake kubelet) and
// `helm`, in one `go build` so that the Kubernetes libraries they share are compiled once. Binaries are
// cached under ~/.cache/beastmode/<component>-<version>-<hash of the module's inputs>/, so only the first
// build on a machine pays; a second call does no Go build at all. Go's own build cache (~/.cache/go-build)
// keeps the compiled packages, so a change to bmcp's few files rebuilds in about a minute.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join, relative } from 'node:path';
import { controlPlaneModuleDir, repoRoot } from './paths.js';

/** The Kubernetes release the module pins (go.mod requires k8s.io/kubernetes at this version). */
export const KUBERNETES_VERSION = 'v1.34.4';
/** The helm release the module's go.mod requires. */
export const HELM_VERSION = 'v3.19.5';

interface Component {
  name: string;
  version: string;
  moduleDir: string;
  /** Package patterns passed to `go build`, relative to moduleDir. */
  packages: string[];
  /** Executables `go build -o dir/` writes. */
  binaries: string[];
}

const CONTROL_PLANE: Component = {
  name: 'controlplane',
  version: KUBERNETES_VERSION,
  moduleDir: controlPlaneModuleDir,
  packages: ['./cmd/bmcp', 'helm.sh/helm/v3/cmd/helm'],
  binaries: ['bmcp', 'helm'],
};

/**
 * What makes the cold build shorter without changing what runs: no cgo (no C compiler in the loop; every
 * component is pure Go), and no DWARF tables from the compiler (the linker drops them anyway with -w).
 */
const GO_BUILD_ENV = { CGO_ENABLED: '0', GOTOOLCHAIN: 'local' } as const;

export interface ControlPlaneBinaries {
  /** Multi-call binary: `bmcp etcd|apiserver|controller-manager|scheduler|kubelet|version`. */
  bmcp: string;
  helm: string;
  kubernetesVersion: string;
  /** True when this call ran `go build`; false when the cache already had every binary. */
  built: boolean;
}

export interface BuildOptions {
  /** Called with human-readable progress lines (what is being built, elapsed time) about every 15 s. */
  onProgress?: (line: string) => void;
  /** Overrides ~/.cache/beastmode. */
  cacheRoot?: string;
  progressIntervalMs?: number;
}

export class MissingToolError extends Error {}

/** Throws a MissingToolError with an actionable message when `tool` is not on PATH. */
export function requireTool(tool: string, why: string, install: string): void {
  const probe = spawnSync(tool, ['version'], { stdio: 'ignore' });
  if (probe.error) {
    throw new MissingToolError(`${tool} not found on PATH: ${why}. ${install}`);
  }
}

function versionLdflags(version: string): string {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const vars: Record<string, string> = {
    gitVersion: version,
    gitMajor: major ?? '',
    gitMinor: minor ?? '',
    gitTreeState: 'clean',
    gitCommit: '0000000000000000000000000000000000000000',
    buildDate: '1970-01-01T00:00:00Z',
  };
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/client-go/pkg/version', 'k8s.io/component-base/version']) {
    for (const [key, value] of Object.entries(vars)) flags.push(`-X ${pkg}.${key}=${value}`);
  }
  // As helm's Makefile does: its default capabilities (`helm template`) and lint rules use this release.
  flags.push(`-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`);
  for (const pkg of ['helm.sh/helm/v3/pkg/chartutil', 'helm.sh/helm/v3/pkg/lint/rules']) {
    flags.push(`-X ${pkg}.k8sVersionMajor=${major ?? ''}`, `-X ${pkg}.k8sVersionMinor=${minor ?? ''}`);
  }
  return flags.join(' ');
}

function listSourceFiles(dir: string, root = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // A nested go.mod starts another module (another component): not an input of this one.
      if (entry.name !== 'bin' && !existsSync(join(path, 'go.mod'))) out.push(...listSourceFiles(path, root));
    } else if (/\.(go|mod|sum)$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out.sort();
}

/** Short hash of everything that determines a component's binaries: go.mod, go.sum, sources, flags. */
function inputsHash(component: Component): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([goBuildArgs(component, 'OUT'), GO_BUILD_ENV]));
  for (const file of listSourceFiles(component.moduleDir)) {
    hash.update(relative(component.moduleDir, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

function componentCacheDir(component: Component, cacheRoot: string): string {
  return join(cacheRoot, `${component.name}-${component.version}-${inputsHash(component)}`);
}

/** The cache directories the current sources map to (one per component). */
export function controlPlaneCacheDirs(cacheRoot = defaultCacheRoot()): string[] {
  return [componentCacheDir(CONTROL_PLANE, cacheRoot)];
}

/** ~/.cache/beastmode (or $XDG_CACHE_HOME/beastmode): where built binaries are kept. */
export function defaultCacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.cache'), 'beastmode');
}

export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock directory so that `npm run cluster:build` and a test run never compile at the same time. */
export async function withBuildLock<T>(
  cacheRoot: string,
  onProgress: (l: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  mkdirSync(cacheRoot, { recursive: true });
  const lock = join(cacheRoot, 'build.lock');
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // The owner is between mkdir and writeFile; retry below.
      }
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        onProgress(`Waiting for another control plane build (pid ${owner}) to finish`);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Returns the control plane binaries, building them with `go build` on the first call on a machine.
 * Throws MissingToolError when Go is needed but not installed.
 */
export async function buildControlPlane(options: BuildOptions = {}): Promise<ControlPlaneBinaries> {
  const onProgress = options.onProgress ?? (() => undefined);
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot();
  checkPinnedVersions();
  const cacheDir = componentCacheDir(CONTROL_PLANE, cacheRoot);
  const built = await buildComponent(CONTROL_PLANE, cacheDir, cacheRoot, onProgress, options);
  return {
    bmcp: join(cacheDir, 'bin', 'bmcp'),
    helm: join(cacheDir, 'bin', 'helm'),
    kubernetesVersion: KUBERNETES_VERSION,
    built,
  };
}

async function buildComponent(
  component: Component,
  cacheDir: string,
  cacheRoot: string,
  onProgress: (line: string) => void,
  options: BuildOptions,
): Promise<boolean> {
  const marker = join(cacheDir, 'build.json');
  if (existsSync(marker)) return false;
  requireTool(
    'go',
    `the first run builds ${component.binaries.join(', ')} ${component.version} from source (${relative(repoRoot, component.moduleDir)})`,
    'Install Go >= 1.24 (https://go.dev/dl), or set E2E_KUBECONFIG to use an existing cluster (see e2e/README.md)',
  );
  return withBuildLock(cacheRoot, onProgress, async () => {
    if (existsSync(marker)) return false;
    const staging = `${cacheDir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(staging, 'bin'), { recursive: true });
    const started = Date.now();
    onProgress(
      `Building ${component.binaries.join(', ')} (${component.name} ${component.version}) into ${cacheDir}` +
        (component.name === 'controlplane'
          ? `: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a fake kubelet and helm; ` +
            `the first build on a machine takes about 9 minutes on two idle cores`
          : ''),
    );
    await runGoBuild(
      component,
      join(staging, 'bin'),
      onProgress,
      options.progressIntervalMs ?? 15_000,
      started,
    );
    const elapsedMs = Date.now() - started;
    const record = {
      component: component.name,
      version: component.version,
      builtAt: new Date().toISOString(),
      elapsedMs,
    };
    writeFileSync(join(staging, 'build.json'), JSON.stringify(record, null, 2) + '\n');
    rmSync(cacheDir, { recursive: true, force: true });
    renameSync(staging, cacheDir);
    onProgress(`Built ${component.binaries.join(', ')} in ${formatElapsed(elapsedMs)}`);
    return true;
  });
}

/** The versions named here must be the ones the go.mod files require (they name the cache and ldflags). */
function checkPinnedVersions(): void {
  for (const [dir, module, version] of [
    [controlPlaneModuleDir, 'k8s.io/kubernetes', KUBERNETES_VERSION],
    [controlPlaneModuleDir, 'helm.sh/helm/v3', HELM_VERSION],
  ] as const) {
    const gomod = readFileSync(join(dir, 'go.mod'), 'utf8');
    if (
      !new RegExp(`^\\s*${module.replace(/\./g, '\\.')} ${version.replace(/\./g, '\\.')}\\b`, 'm').test(gomod)
    ) {
      throw new Error(
        `${join(dir, 'go.mod')} does not require ${module} ${version}, which cluster/build.ts pins`,
      );
    }
  }
}

function goBuildArgs(component: Component, outDir: string): string[] {
  return [
    'build',
    '-v',
    '-trimpath',
    '-gcflags=all=-dwarf=false',
    `-ldflags=${versionLdflags(component.version)}`,
    '-o',
    `${outDir}/`,
    ...component.packages,
  ];
}

/** How many packages `go build` will compile for these packages (cached ones included), for the estimate. */
function countPackages(component: Component, env: NodeJS.ProcessEnv): number | undefined {
  const listed = spawnSync('go', ['list', '-deps', ...component.packages], {
    cwd: component.moduleDir,
    env,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (listed.status !== 0) return undefined;
  return listed.stdout.split('\n').filter((line) => line !== '').length;
}

/** "1234/2699 packages, about 6 min left": a linear estimate from the packages compiled so far. */
export function describeProgress(compiled: number, total: number | undefined, elapsedMs: number): string {
  if (total === undefined || compiled === 0) return `${compiled} packages compiled`;
  const done = Math.min(compiled, total);
  // Linking the two binaries at the end takes some 10-30 s: never promise less than that.
  const leftMs = (elapsedMs / done) * (total - done) + 30_000;
  return `${done}/${total} packages, about ${Math.ceil(leftMs / 60_000)} min left`;
}

/** Follows `go build -v` output: counts the packages compiled, and keeps what it did last and the last lines. */
class GoBuildOutput {
  compiled = 0;
  last = '(resolving modules)';
  /** The last 40 lines, for the error when the build fails. */
  readonly tail: string[] = [];
  private partial = '';

  write(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    lines.forEach((line) => this.onLine(line));
  }

  /** Takes the unterminated last line, once the output has ended. */
  end(): void {
    this.onLine(this.partial);
  }

  private onLine(line: string): void {
    if (line === '') return;
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
    // `go build -v` names each package as it is compiled; anything else is an error or a download.
    if (/^[\w.-]+(\/[\w.~+-]+)*$/.test(line)) {
      this.compiled += 1;
      this.last = line;
    } else if (line.startsWith('go: downloading')) {
      this.last = line.slice('go: '.length);
    }
  }
}

function goBuildEnv(): NodeJS.ProcessEnv {
  const parallelism = Math.max(1, Math.min(cpus().length, 4));
  return {
    ...process.env,
    ...GO_BUILD_ENV,
    GOFLAGS: `${process.env.GOFLAGS ?? ''} -p=${parallelism} -buildvcs=false -mod=readonly`.trim(),
  };
}

/** Runs `go build`, reporting progress every intervalMs; rejects with the output's last lines on failure. */
function runGoBuild(
  component: Component,
  outDir: string,
  onProgress: (l: string) => void,
  intervalMs: number,
  started: number,
): Promise<void> {
  const args = goBuildArgs(component, outDir);
  const env = goBuildEnv();
  const total = countPackages(component, env);
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd: component.moduleDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = new GoBuildOutput();
    child.stdout.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));
    const timer = setInterval(() => {
      onProgress(
        `go build: ${describeProgress(output.compiled, total, Date.now() - started)}, now ${output.last} ` +
          `(${formatElapsed(Date.now() - started)} elapsed)`,
      );
    }, intervalMs);
    const killChild = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killChild);
    const finish = (): void => {
      clearInterval(timer);
      process.off('exit', killChild);
    };
    child.on('error', (err) => {
      finish();
      reject(err);
    });
    child.on('close', (code, signal) => {
      finish();
      output.end();
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `go build of ${component.name} failed (${signal ?? `exit code ${code}`}) in ` +
              `${component.moduleDir}:\n${output.tail.join('\n')}`,
          ),
        );
    });
  });
}
