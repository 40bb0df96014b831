#!/usr/bin/env bash
# Installs what the project needs on a Debian machine, once: system packages, then the npm dependencies
# (which bring the pinned Node.js 24 that every script runs on). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(openssl redis-server nginx-light lua5.4)

for tool in go git; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is required (Go builds the local Kubernetes control plane)" >&2; exit 1; }
done
command -v npm >/dev/null || { echo "error: npm is required (any Node.js with npm; the project installs Node 24 itself)" >&2; exit 1; }

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "==> Installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=node_modules/.package-lock.stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "==> Installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
echo "==> Node $(node_modules/.bin/node --version) from node_modules"
