#!/usr/bin/env bash
# Install the Debian packages the build, tests and demos need. Idempotent: only
# packages that are missing are installed, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake pkg-config make
  clang-19 llvm-19 libbpf-dev bpftool libelf-dev zlib1g-dev
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libcap-dev
  catch2 libcli11-dev libfmt-dev nlohmann-json3-dev
  iproute2 ethtool python3
)
[ "$#" -gt 0 ] && packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'sudo make deps' (or install them with apt-get) and retry" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them only when needed.
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
