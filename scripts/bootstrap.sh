#!/usr/bin/env bash
# Installs what the project needs on a Debian machine, once: system packages, then the npm dependencies
# (which bring the pinned Node.js 24 that every script runs on). Safe to run again: it skips what is there.
# Quiet by design: one line per step; a failing step prints the end of its log and the command to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(openssl redis-server nginx-light lua5.4 slowhttptest chromium fonts-dejavu-core)
LOG_DIR=.beastmode/bootstrap
mkdir -p "$LOG_DIR"

fail() { # what, log, fix
  echo "error: $1 failed; the end of $2:" >&2
  tail -n 25 "$2" | sed 's/^/  | /' >&2
  echo "To fix it, run: $3" >&2
  exit 1
}

for tool in go git; do
  command -v "$tool" >/dev/null || {
    echo "error: '$tool' is required (Go builds the local Kubernetes control plane)." >&2
    echo "To fix it, run: sudo apt-get install -y golang-go git   (or install Go >= 1.24 from go.dev)" >&2
    exit 1
  }
done
command -v npm >/dev/null || {
  echo "error: npm is required (any Node.js with npm; the project installs Node 24 itself)." >&2
  echo "To fix it, run: sudo apt-get install -y npm" >&2
  exit 1
}

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "==> Installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log="$LOG_DIR/apt.log"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 ||
    fail "installing ${missing[*]}" "$log" "$sudo apt-get update && $sudo apt-get install -y ${missing[*]}"
fi

stamp=node_modules/.package-lock.stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "==> Installing npm dependencies (npm ci, about a minute)"
  # npm itself may run on an older system Node: its engine and install-script notices are about that
  # Node, not the pinned Node 24 the project runs on, so they go to the log rather than the screen.
  log="$LOG_DIR/npm-ci.log"
  # No dependency runs an install script but the two that need one, named here: the pinned Node.js (its
  # preinstall fetches the platform package from the registry) and esbuild (its postinstall checks its
  # binary). Every package's integrity is checked against package-lock.json by npm ci itself.
  { npm ci --ignore-scripts --no-audit --no-fund --loglevel=error &&
      npm rebuild node esbuild --loglevel=error; } >"$log" 2>&1 || fail "npm ci" "$log" "npm ci"
  cp package-lock.json "$stamp"
fi
node_modules/.bin/node --version >/dev/null 2>&1 || fail "the pinned Node.js" "$LOG_DIR/npm-ci.log" "rm -rf node_modules && npm ci"
echo "==> Node $(node_modules/.bin/node --version) from node_modules"
