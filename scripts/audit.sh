#!/usr/bin/env bash
# Supply-chain checks of the npm dependencies: `npm audit --audit-level=high` (a high or critical advisory
# fails) and `npm audit signatures` (every package's registry signature verified). A registry mirror that
# does not serve the audit endpoint, or a network with no route to the signature service, cannot answer:
# the check then says so and is skipped, since no answer is not a finding. Anything else fails.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  echo "Usage: npm run audit   (bash scripts/audit.sh)"
  echo
  echo "Runs npm audit --audit-level=high and npm audit signatures; a finding fails. A check the registry"
  echo "or the signature service cannot answer is reported as skipped, with the reason."
  exit 0
fi

unreachable='audit endpoint returned an error|code (ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT)|npm error network'

check() { # name, command...
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "==> $name: passed ($(grep -m1 -E 'vulnerabilities|verified' <<<"$out" || echo 'no finding'))"
  elif grep -qE "$unreachable" <<<"$out"; then
    echo "==> $name: skipped, the registry or signature service did not answer: $(grep -m1 -E "$unreachable|warn" <<<"$out")"
  else
    echo "==> $name: failed" >&2
    echo "$out" >&2
    return 1
  fi
}

status=0
check "npm audit --audit-level=high" npm audit --audit-level=high || status=1
check "npm audit signatures" npm audit signatures || status=1
exit "$status"
