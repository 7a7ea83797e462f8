#!/usr/bin/env bash
# Builds pvhub-egress-proxy:<tag>, the filtering forward proxy of a job that may reach listed hosts: Squid from Debian
# in a minimal root file system, made with debootstrap + docker import like container/base/build-base-image.sh makes the
# Python images, because no image registry is reachable. The configuration is the worker's (src/domain/squid-config.ts),
# mounted read-only at /etc/pvhub-proxy/squid.conf; the image itself holds no policy.
# Usage: build-proxy-image.sh [tag]     (idempotent: exits at once when the image exists)
set -euo pipefail
tag="pvhub-egress-proxy:${1:-bookworm}"
suite=bookworm
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi
work="$(mktemp -d /var/tmp/pvhub-proxy-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "building $tag from Debian $suite (one-time, a few minutes)" >&2
bash "$here/../base/debootstrap-rootfs.sh" "$suite" squid "$work"
rootfs="$work/rootfs"
# Nothing in the proxy needs privileges it could regain: no setuid or setgid bit survives (pinger, su, mount ...).
find "$rootfs" -xdev -perm /6000 -type f -exec chmod ug-s {} +
# Only what Squid runs with stays: no package manager, no compiler of shell snippets beyond the minimal base.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/etc/squid/squid.conf "$rootfs"/etc/squid/conf.d
mkdir -p "$rootfs/etc/pvhub-proxy"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'USER proxy' \
  --change 'LABEL pvhub.image=egress-proxy' \
  --change 'CMD ["squid", "-N", "-f", "/etc/pvhub-proxy/squid.conf"]' - "$tag" >/dev/null
echo "built $tag" >&2
