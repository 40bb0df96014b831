#!/usr/bin/env bash
# The demo: a local Kubernetes control plane, the operator, a gateway, simulated model servers, steady
# traffic and two canary rollouts (one promoted, one rolled back). `--once` runs it non-interactively.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/node_modules/.bin:$PATH"
exec tsx scripts/demo/main.ts "$@"
