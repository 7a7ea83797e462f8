#!/usr/bin/env bash
# The README's first command: set up what is missing, then score the example's correct submission against the
# example time-shift task on embedded defaults. Prints the metrics and the report's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
exec node bin/pvhub-worker.js evaluate \
  --task examples/tasks/time-shift-detection \
  --submission examples/submissions/time-shift-correct.zip \
  --out out/demo "$@"
