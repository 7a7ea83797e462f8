#!/usr/bin/env bash
# A minimal Debian root file system in <dir>/rootfs, for an image made with docker import (no registry is reachable):
# debootstrap's minbase variant of <suite> with the listed packages, its log shown only when it fails.
# Usage: debootstrap-rootfs.sh <suite> <comma-separated packages> <dir>
set -euo pipefail
suite="${1:?suite}"
packages="${2:?packages}"
dir="${3:?dir}"
mirror="${PVHUB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
debootstrap --variant=minbase --include="$packages" "$suite" "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 \
  || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
