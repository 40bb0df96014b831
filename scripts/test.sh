#!/usr/bin/env bash
# The full test suite, from a fresh clone: installs what is missing, builds (or reuses) the local
# Kubernetes control plane, then runs the configuration scan (trivy, built once and cached), the npm audit
# checks, typecheck, lint, format check, unit and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
npm run cluster:build
npx tsx scripts/build-tools.ts
npm run scan
npm run audit
npm test
