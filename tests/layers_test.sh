#!/usr/bin/env bash
# Runs tests/layers.py on the sources and docs/architecture.md in the test's runfiles.
set -euo pipefail
exec python3 tests/layers.py
