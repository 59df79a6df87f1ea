#!/usr/bin/env bash
# Installs the Debian 12 packages Lading builds with, and only those that are missing.
# Sourced by tools/test.sh and tools/demo.sh; safe to run on its own. Works as root, uses sudo
# otherwise. Exits non-zero with a one-line reason when a package cannot be installed.
set -euo pipefail

lading_packages=(
  build-essential cmake pkg-config ninja-build ccache git
  librocksdb-dev libsodium-dev libboost-dev libboost-system-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libabsl-dev
  catch2 libcli11-dev libtomlplusplus-dev libspdlog-dev libbenchmark-dev
)

lading_missing_packages() {
  local p
  for p in "${lading_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$p"
    fi
  done
}

lading_install_deps() {
  local missing
  missing=$(lading_missing_packages | tr '\n' ' ')
  if [ -z "${missing// /}" ]; then
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "deps: missing packages ($missing) and not root, and sudo is not available" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  echo "deps: installing missing Debian packages: $missing" >&2
  # A failed install is often a stale package index; refresh once and retry.
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; then
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  lading_install_deps
fi
