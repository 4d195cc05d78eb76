#!/usr/bin/env bash
# Build the offline base image: a Debian rootfs made with debootstrap from the mirror apt already uses,
# imported into the local Docker engine. No image registry is involved.
#   build-base.sh TAG SUITE MIRROR
set -euo pipefail
tag=$1 suite=$2 mirror=$3
packages=$(grep -v '^#' "$(dirname "$0")/packages.txt" | tr -s '\n ' ',' | sed 's/^,//; s/,$//')

command -v debootstrap >/dev/null || { echo "build-base: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }
work=$(mktemp -d /var/tmp/harness-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT

debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
# Keep the image small and free of the build host's apt state.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["sleep", "infinity"]' \
  - "$tag" >/dev/null
echo "$tag"
