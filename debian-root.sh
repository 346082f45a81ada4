#!/usr/bin/env bash
# Runs a command in this checkout inside a Debian 13 (trixie) root, for the TFX 1.21 stack on
# hosts whose glibc is older than 2.39 (ml-metadata >= 1.17 ships manylinux_2_39 wheels only).
#
#   ./debian-root.sh ROOT COMMAND...     e.g. ./debian-root.sh ~/.cache/tfx-heads/debian13 make test-tfx121
#
# ROOT is made with debootstrap the first time, and again whenever its recipe (the release and
# packages below) changes (its hash is kept in ROOT/.tfx-heads-recipe); otherwise it is reused
# as it is, with whatever earlier runs installed in it (the pip cache, the TFX 1.21
# environment). The checkout is mounted at /tfx-heads inside the root and the command runs
# there, as root, with a clean environment (the host's PIP_* settings and paths stay out).
# Every mount is undone when the command ends, whatever its exit status. Needs root
# (debootstrap, mount, chroot).
set -euo pipefail

root=${1:?usage: debian-root.sh ROOT COMMAND...}
shift
[ $# -gt 0 ] || { echo "debian-root.sh: no command given" >&2; exit 2; }
checkout=$(cd "$(dirname "$0")" && pwd)
# What the TFX 1.21 stack needs beyond a minimal system: Python 3.13 and its headers, a C++
# compiler (pyfarmhash, needed by TFDV 1.21, has no Python 3.13 wheel), make for the Makefile
# and procps for the tests that look at processes; then chromium for the report's browser
# tests, installed with apt inside the root (debootstrap cannot configure its desktop
# dependencies itself).
release=trixie
packages=python3,python3-venv,python3-dev,ca-certificates,procps,g++,make
apt_packages=chromium
# The root is rebuilt when any of these changes.
recipe=$(printf '%s\n' "$release" "$packages" "$apt_packages" | sha256sum | cut -d' ' -f1)

# The Debian mirror the host's apt uses (DEBIAN_MIRROR overrides it).
host_mirror() {
    local sources
    for sources in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$sources" ] || continue
        awk '
            /^URIs:/ && $2 !~ /security/ { print $2; exit }
            /^deb / && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }
        ' "$sources"
    done | head -n 1
}

build_root() {
    command -v debootstrap >/dev/null || {
        echo "debian-root.sh: installing debootstrap"
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
    }
    local mirror=${DEBIAN_MIRROR:-$(host_mirror)}
    [ -n "$mirror" ] || { echo "debian-root.sh: no Debian mirror found in /etc/apt; set DEBIAN_MIRROR" >&2; exit 2; }
    echo "debian-root.sh: building the Debian 13 root in $root (a few minutes, once)"
    rm -rf "$root" "$root.new"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase --include="$packages" "$release" "$root.new" "$mirror" \
        >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
    mv "$root.new" "$root"
}

built=
[ "$(cat "$root/.tfx-heads-recipe" 2>/dev/null)" = "$recipe" ] || { build_root; built=1; }

# The host's CA trust store (it may hold local CAs that pip needs to reach the registries).
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

mounted=()
unmount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
    done
}
trap unmount_all EXIT
mount_in_root() {  # mount_in_root TARGET MOUNT-ARGS...
    mkdir -p "$root$1"
    mount "${@:2}" "$root$1"
    mounted+=("$root$1")
}
mount_in_root /proc -t proc proc
mount_in_root /sys -t sysfs sysfs
mount_in_root /dev --bind /dev
mount_in_root /dev/pts -t devpts devpts
mount_in_root /dev/shm -t tmpfs tmpfs
mount_in_root /tfx-heads --bind "$checkout"

# A clean environment: the host's PIP_* settings and paths stay out.
root_env=(
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
    LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1
    DEBIAN_FRONTEND=noninteractive CI="${CI:-}" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-}"
    bash -c 'cd /tfx-heads && exec "$@"' bash
)
in_root() {
    chroot "$root" "${root_env[@]}" "$@"
}

if [ -n "$built" ]; then
    { in_root apt-get update -q && in_root apt-get install -y -q --no-install-recommends $apt_packages; } \
        >>"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
    echo "$recipe" >"$root/.tfx-heads-recipe"
fi

# The command runs in the background (chroot itself, so that its pid is the command's) and
# this script waits for it: a signal to the script reaches the command at once, and the
# mounts are undone once the command has ended.
chroot "$root" "${root_env[@]}" "$@" <&0 &
command_pid=$!
forward() {  # forward SIGNAL STATUS
    kill -s "$1" "$command_pid" 2>/dev/null
    wait "$command_pid"
    exit "$2"
}
trap 'forward INT 130' INT
trap 'forward TERM 143' TERM
set +e
wait "$command_pid"
status=$?
set -e
exit $status
