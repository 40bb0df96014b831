#!/usr/bin/env bash
# The demo: a local Kubernetes control plane, the operator, a gateway, simulated model servers, steady
# traffic and two canary rollouts (one promoted, one rolled back). `--once` runs it non-interactively.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/node_modules/.bin:$PATH"
# One process, not the tsx CLI: that wrapper relays Ctrl-C to its child and SIGKILLs it when the child does not
# acknowledge within 30 ms, which a demo busy drawing its view misses, and then nothing is stopped cleanly.
exec node --import tsx scripts/demo/main.ts "$@"
