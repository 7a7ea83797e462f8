#!/usr/bin/env bash
# Set-up from nothing, idempotent: what the worker needs on this machine. Re-running it when all is there takes
# seconds. Used by both README commands (scripts/demo.sh and scripts/test.sh).
#   --tests   also what the test suite needs (local SQS and S3 servers, an image registry, the Node base of
#             Dockerfile.prod, headless Chromium)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p logs .cache
say() { printf '[setup] %s\n' "$*" >&2; }

apt_install() {
  [ -f .cache/apt-updated ] || { apt-get update -qq >/dev/null && touch .cache/apt-updated; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>logs/setup-apt.log 2>&1
}

# 1. Node packages.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node packages"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# 2. Docker engine: installed when absent, started when not running.
if ! command -v dockerd >/dev/null 2>&1; then
  say "installing the Docker engine (docker.io)"
  apt_install docker.io
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: logs/dockerd.log)"
  nohup dockerd >>logs/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { say "dockerd did not start; see logs/dockerd.log"; exit 1; }
fi

# 3. Base images (no registry here): python:<v>-slim from Debian.
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
for version in ${PVHUB_BASE_PYTHON_VERSIONS:-3.11}; do
  bash container/base/build-base-image.sh "$version"
done

# 4. The host-side Python environment: uv and pip for resolving and fetching wheels; the report image's packages too,
#    for trying a template by hand and the specs' pandas checks. The report image itself is built by the first job that needs it.
venv=.cache/venv
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ] || [ container/host-requirements.txt -nt "$venv/.complete" ]; then
  say "creating the host Python environment ($venv)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -r container/host-requirements.txt >/dev/null
  touch "$venv/.complete"
fi
# uv beside that python (src/adapters/images/wheel-download.ts finds it there); pinned, installed again when the pin moves.
if [ ! -x "$venv/bin/uv" ] || [ ! -f "$venv/.resolver-complete" ] || [ container/resolver-requirements.txt -nt "$venv/.resolver-complete" ]; then
  say "installing the resolver (uv) into $venv"
  "$venv/bin/python" -m pip install -q -r container/resolver-requirements.txt >/dev/null
  touch "$venv/.resolver-complete"
fi

# 5. For the test suite: local SQS- and S3-compatible servers on 127.0.0.1, and the Node base of Dockerfile.prod
#    (node:24-bookworm-slim, from Debian and the npm registry when the engine lacks it), which its spec builds on.
#    Also the HCL parser of the deploy/ spec, in the host environment but apart from host-requirements.txt (which
#    pins the report image's packages).
if [ "${1:-}" = "--tests" ]; then
  [ -x scripts/services/start.sh ] && bash scripts/services/start.sh
  bash container/base/build-node-base-image.sh 24
  hcl2_version=8.1.4
  if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("python-hcl2") != sys.argv[1])' "$hcl2_version" 2>/dev/null; then
    say "installing python-hcl2 $hcl2_version into $venv"
    "$venv/bin/python" -m pip install -q "python-hcl2==$hcl2_version" >/dev/null
  fi
fi
# Chromium opens a local report with no network, as a person would.
if [ "${1:-}" = "--tests" ] && ! command -v chromium >/dev/null 2>&1; then
  say "installing Chromium (chromium)"
  apt_install chromium
fi
say "ready"
