#!/usr/bin/env bash
# The whole test suite, from nothing: set-up (Docker engine, base image, host Python, local SQS/S3 servers),
# type-check, lint, then every uvu spec. Ends with the line "N passed, N failed"; fails when no test ran.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --tests
echo "== type-check"
npx tsc --noEmit
echo "== lint"
npm run -s lint
echo "== specs"
mkdir -p logs
status=0
node --import tsx node_modules/uvu/bin.js spec '.*\.spec\.ts$' 2>&1 | tee logs/spec-output.txt || status=$?
plain="$(sed 's/\x1b\[[0-9;]*m//g' logs/spec-output.txt)"
total="$(printf '%s\n' "$plain" | awk '/^ *Total:/ {sum += $2} END {print sum + 0}')"
passed="$(printf '%s\n' "$plain" | awk '/^ *Passed:/ {sum += $2} END {print sum + 0}')"
failed=$((total - passed))
echo "${passed} passed, ${failed} failed"
if [ "$total" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then exit 1; fi
