#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian bookworm packages weft builds with (docs/design.md section 2),
# only those missing. Uses sudo when not root. Never pulls Boost 1.74 -dev
# packages (they conflict with the 1.81 ones).
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libboost-fiber1.81-dev libboost-context1.81-dev libboost1.81-dev
  libevent-dev libcli11-dev catch2
  nlohmann-json3-dev libfmt-dev
  # The hook layer's tests run real synchronous client libraries, unchanged,
  # against servers they start themselves (docs/hooks.md): libcurl against
  # an HTTP server in the test, libpq against a PostgreSQL cluster.
  libcurl4-openssl-dev libpq-dev postgresql
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "weft: installing missing packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo)
elif command -v sudo >/dev/null 2>&1; then
  run=(sudo)
  echo "weft: sudo will ask for your password to run apt-get"
else
  echo "weft: need root to install: ${missing[*]}" >&2
  echo "weft: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
