// Builds (or finds in ~/.cache/beastmode) the Go tools the test suite runs, before the suite starts: a
// first build of promtool takes minutes, better spent here, with progress lines, than inside a unit test
// running beside others. `npx tsx scripts/build-tools.ts`; the unit tests build it themselves if needed.
import { ensurePromtool, PROMTOOL_VERSION } from '../operator/src/observability/promtool.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npx tsx scripts/build-tools.ts\n\nBuilds promtool ' +
      `${PROMTOOL_VERSION} from the Go module proxy once per machine (cached under ~/.cache/beastmode).\n`,
  );
  process.exit(0);
}

const bin = await ensurePromtool((line) => process.stderr.write(`${line}\n`));
process.stdout.write(
  bin === undefined
    ? `==> promtool ${PROMTOOL_VERSION}: Go is not installed; the alert-rule tests will be skipped\n`
    : `==> promtool ${PROMTOOL_VERSION}: ${bin}\n`,
);
