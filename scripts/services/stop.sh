#!/usr/bin/env bash
# Stops the servers scripts/services/start.sh started (by the PIDs it recorded, nothing else) and forgets the
# endpoints, so specs fail clearly instead of talking to a port that something else may take.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { printf '[services] %s\n' "$*" >&2; }

for name in elasticmq moto registry; do
  pidfile=".cache/services/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
done
rm -f .cache/services.env
