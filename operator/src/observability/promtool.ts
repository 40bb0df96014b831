// promtool (Prometheus's rule checker and rule unit-test runner), built from the Go module proxy once per
// machine into ~/.cache/beastmode/promtool-<version>/ by cluster/go-tools.ts. The chart's alert rules are
// checked with it (alert-rules.test.ts); nothing at runtime needs it.
import { ensureGoTool } from '../../../cluster/go-tools.js';

export const PROMTOOL_MODULE = 'github.com/prometheus/prometheus/cmd/promtool';
export const PROMTOOL_VERSION = 'v0.316.0';

/** The promtool binary, built on the first call on a machine; undefined when not cached and Go is absent. */
export function ensurePromtool(onProgress: (line: string) => void): Promise<string | undefined> {
  return ensureGoTool(
    { name: 'promtool', module: PROMTOOL_MODULE, version: PROMTOOL_VERSION, flags: ['-ldflags=-s -w'] },
    onProgress,
  );
}
