#!/usr/bin/env bash
# Regenerates the `replace` block of go.mod from the upstream k8s.io/kubernetes go.mod:
# k8s.io/kubernetes requires its staging modules at v0.0.0 with `=> ./staging/...` replaces, which do not
# resolve outside its own repository. Every staging module is pinned here to the published v0.<minor>.<patch>.
# Usage: hack/gen-replace.sh v1.34.4   (run from cluster/controlplane; then `go mod tidy`)
set -euo pipefail
K8S_VERSION="${1:?usage: gen-replace.sh vX.Y.Z}"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || { echo "cannot find go.mod of k8s.io/kubernetes@${K8S_VERSION}" >&2; exit 1; }
modules="$(grep -Eo '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk '{print $1}' | sort -u)"
[ -n "$modules" ] || { echo "no staging replaces found in $gomod" >&2; exit 1; }
# Drop the previous generated block, then append a fresh one.
sed -i '/^\/\/ BEGIN generated staging replaces/,/^\/\/ END generated staging replaces/d' go.mod
{
  echo "// BEGIN generated staging replaces (hack/gen-replace.sh ${K8S_VERSION}; do not edit)"
  echo "replace ("
  for m in $modules; do echo "	$m => $m $STAGING_VERSION"; done
  echo ")"
  echo "// END generated staging replaces"
} >> go.mod
echo "wrote $(echo "$modules" | wc -l) staging replaces at $STAGING_VERSION" >&2
