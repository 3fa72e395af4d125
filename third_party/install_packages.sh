#!/usr/bin/env bash
# Installs the Debian 12 packages libmemkit builds and tests with, only those
# missing (apt-get update runs only when something must be installed). Run as root
# (or with sudo available). Usage: install_packages.sh [extra-package ...]
set -euo pipefail
packages=(bazel-bootstrap build-essential clang libclang-rt-14-dev libgtest-dev libgmock-dev
          liburcu-dev libuv1-dev valgrind pkg-config socat
          libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev libglib2.0-dev libapr1-dev
          libtalloc-dev lcov sqlite3 git python3 "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
