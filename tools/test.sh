#!/usr/bin/env bash
# Builds Lading and runs the whole test suite (ctest).
#
#   tools/test.sh                 # everything
#   tools/test.sh -L unit         # extra arguments go to ctest
#
# On a fresh Debian 12 machine it first installs the Debian packages that are missing (as root,
# or through sudo). Environment: LADING_BUILD_DIR (default build), LADING_BUILD_TYPE (default
# RelWithDebInfo), LADING_SANITIZE (e.g. "address;undefined"), LADING_JOBS (default 2).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# shellcheck source=tools/deps.sh
source tools/deps.sh
lading_install_deps

build_dir=${LADING_BUILD_DIR:-build}
jobs=${LADING_JOBS:-2}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${LADING_BUILD_TYPE:-RelWithDebInfo}" \
  -DLADING_SANITIZE="${LADING_SANITIZE:-}"
cmake --build "$build_dir" -j "$jobs"
cd "$build_dir"
ctest --output-on-failure -j "$jobs" "$@"
