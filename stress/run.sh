#!/usr/bin/env bash
# The main job: installs missing packages, builds the stress harness optimised and
# runs a default stress run (4 threads, 15 seconds), printing its report. Extra
# arguments go to the harness (see --help). Exit status: the harness's verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install_packages.sh
exec bazel run -c opt //stress -- --threads 4 --seconds 15 "$@"
