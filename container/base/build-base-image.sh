#!/usr/bin/env bash
# Builds python:<version>-slim locally from Debian with debootstrap + docker import, because no image registry is
# reachable. Only versions that a Debian suite ships as its python3 can be provided this way: the table is
# container/base/python-versions.json (suite, and the glibc that decides which manylinux wheels fit).
# Usage: build-base-image.sh <python-version> [builder]     (idempotent: exits at once when the image exists)
#   builder: pvhub-sdist-builder:<version>, the same Python with a C toolchain and its headers, in which a
#   requirement that exists only as a source distribution is built into a wheel (src/adapters/images/source-build.ts).
set -euo pipefail
version="${1:?python version, e.g. 3.11}"
variant="${2:-base}"
case "$variant" in
  base)
    tag="python:${version}-slim"
    packages="python3,python3-pip,python3-venv,ca-certificates"
    home=
    ;;
  builder)
    tag="pvhub-sdist-builder:${version}"
    packages="python3,python3-pip,python3-venv,ca-certificates,python3-dev,build-essential,pkg-config"
    # Builds run as an unprivileged uid with a read-only root: pip's home and caches go to the tmpfs.
    home=/tmp
    ;;
  *)
    echo "unknown variant $variant (base or builder)" >&2
    exit 2
    ;;
esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], {}).get("suite", ""))' \
  "$here/python-versions.json" "$version")"
if [ -z "$suite" ]; then
  available="$(python3 -c 'import json,sys; print(", ".join(json.load(open(sys.argv[1]))))' "$here/python-versions.json")"
  echo "wr_500: python ${version} cannot be provided locally (available: ${available})" >&2
  exit 3
fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi
work="$(mktemp -d /var/tmp/pvhub-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "building $tag from Debian $suite (one-time, a few minutes)" >&2
bash "$here/debootstrap-rootfs.sh" "$suite" "$packages" "$work"
# Match the official image: `python` on PATH, pip allowed to install into the system interpreter.
ln -sf /usr/bin/python3 "$work/rootfs/usr/local/bin/python"
rm -f "$work"/rootfs/usr/lib/python3*/EXTERNALLY-MANAGED
chroot "$work/rootfs" apt-get clean
rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/*
tar -C "$work/rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' \
  --change 'ENV LANG=C.UTF-8' \
  ${home:+--change "ENV HOME=$home"} \
  --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "built $tag" >&2
