#!/usr/bin/env bash
# Every Bazel file (BUILD, .bzl, WORKSPACE) is formatted as buildifier formats it and
# has no lint warning. Installs buildifier from npm (@bazel/buildifier) if missing,
# and npm from Debian if that is missing too. Usage: tests/buildifier_lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v buildifier >/dev/null; then
    command -v npm >/dev/null || bash third_party/install_packages.sh npm >/dev/null
    npm install -g --silent @bazel/buildifier >/dev/null
fi
mapfile -t files < <(git ls-files | grep -E '(^|/)(BUILD|BUILD\.bazel|WORKSPACE|MODULE\.bazel)$|\.bzl$')
if ! out=$(buildifier -mode=check -lint=warn "${files[@]}" 2>&1); then
    echo "$out"
    echo "FAIL: buildifier (fix with: buildifier -mode=fix -lint=fix <files>)"; exit 1
fi
echo "ok: ${#files[@]} Bazel files formatted and lint-clean ($(buildifier --version | head -1))"
