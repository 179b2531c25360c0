#!/usr/bin/env bash
# Build a Debian bookworm job image with some packages in it, for tests and
# examples that need more than busybox. Run as root; idempotent.
#
#   deploy/debian-image.sh IMAGE CHECK PACKAGE...
#
# IMAGE is the local name (localhost/runner-buildah:bookworm), CHECK a file
# that must exist in the rootfs once the packages are in (/usr/bin/buildah),
# PACKAGE the Debian packages to install (debootstrap --include).
#
# No container registry is reachable here, so the image is not pulled but
# made: debootstrap (needs root) writes a rootfs into a cache directory keyed
# by a hash of everything that decides its content, and the unprivileged user
# imports it into its own podman storage. Both steps are skipped when their
# result is already there: the rootfs when its directory exists, the import
# when the image carries a label with the same hash. A second run prints only
# "ok:" lines.
#
# The image is plain Debian plus packages: no storage.conf, registries.conf or
# ENV that would make buildah work where an upstream buildah image would not.
# A job passes what it needs (STORAGE_DRIVER=vfs, BUILDAH_ISOLATION=chroot)
# itself, exactly as the recipe in docs/in-job-builds.md does.
#
# Environment: RUNNER_USER (default: runner) owns the podman storage the image
# goes to; DEBOOTSTRAP_MIRROR (default: debootstrap's own) is the Debian mirror;
# RUNNER_IMAGE_CACHE (default: /var/cache/runner) holds the rootfs.
set -euo pipefail

RUNNER_USER=${RUNNER_USER:-runner}
[[ $# -ge 3 ]] || { echo "usage: $0 IMAGE CHECK PACKAGE..." >&2; exit 2; }
IMAGE=$1
CHECK=$2
shift 2
PACKAGES=("$@")
LABEL=io.github.runner.debian-image.digest
SUITE=bookworm
VARIANT=minbase
NAME=$(printf '%s' "${IMAGE#localhost/}" | tr -c 'A-Za-z0-9_.-' '_')
MIRROR=${DEBOOTSTRAP_MIRROR:-}
CACHE=${RUNNER_IMAGE_CACHE:-/var/cache/runner}
# What the image's config says (podman import --change); part of the hash.
CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'CMD ["/bin/bash"]'
)
# Left out of the image: the kernel's and podman's (dev, proc, sys, run),
# apt's downloads and lists (rebuilt by apt-get update), debootstrap's logs.
EXCLUDES=('./dev/*' './proc/*' './sys/*' './run/*' './tmp/*' './var/cache/apt/*.bin'
          './var/cache/apt/archives/*.deb' './var/lib/apt/lists/*' './var/log/*')

log() { printf 'debian-image %s: %s\n' "$IMAGE" "$*" >&2; }
change() { log "change: $*"; }
ok() { log "ok: $*"; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run me as root (sudo RUNNER_USER=$(id -un) $0): debootstrap needs it"
id -u "$RUNNER_USER" >/dev/null 2>&1 || die "user $RUNNER_USER missing (run deploy/setup-host.sh)"
RUNNER_UID=$(id -u "$RUNNER_USER")

as_user() {
    # Run a command as the unprivileged user from / (the caller's cwd may be
    # unreadable for it) with the runtime dir podman expects.
    (cd / && runuser -u "$RUNNER_USER" -- env XDG_RUNTIME_DIR="/run/user/$RUNNER_UID" "$@")
}

# v1: bump when the way the rootfs is made changes in a way the inputs do not show.
KEY=$(printf '%s\n' v1 "$SUITE" "$VARIANT" "$MIRROR" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
ROOTFS=$CACHE/rootfs/$NAME-$SUITE-$KEY
DIGEST=$(printf '%s\n' "$KEY" "${CHANGES[@]}" "${EXCLUDES[@]}" | sha256sum | cut -d' ' -f1)

ensure_debootstrap() {
    if command -v debootstrap >/dev/null; then
        ok "debootstrap installed"
        return
    fi
    change "apt-get install debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq debootstrap >/dev/null
}

ensure_rootfs() {
    if [[ -e $ROOTFS$CHECK ]]; then
        ok "rootfs $ROOTFS"
        return
    fi
    local tmp=$ROOTFS.tmp started=$SECONDS
    change "debootstrap $SUITE into $ROOTFS (takes a minute or two)"
    rm -rf "$tmp"
    local args=(--variant="$VARIANT" --include="$(IFS=,; echo "${PACKAGES[*]}")" "$SUITE" "$tmp")
    [[ -z $MIRROR ]] || args+=("$MIRROR")
    if ! debootstrap "${args[@]}" >"$ROOTFS.log" 2>&1; then
        tail -n 20 "$ROOTFS.log" >&2
        die "debootstrap failed; full log: $ROOTFS.log (left $tmp for a look)"
    fi
    [[ -e $tmp$CHECK ]] || die "debootstrap finished but $tmp$CHECK is missing"
    # Only a complete rootfs gets the final name, so an interrupted run starts over.
    mv "$tmp" "$ROOTFS"
    log "rootfs ready in $((SECONDS - started)) s"
}

prune_rootfs() {
    # This image's rootfs trees of older package lists or suites are never used again.
    local old
    for old in "$CACHE/rootfs/$NAME"-*; do
        [[ -e $old && $old != "$ROOTFS" && $old != "$ROOTFS.log" ]] || continue
        change "remove $old (not the current rootfs)"
        rm -rf "$old"
    done
}

ensure_image() {
    local have
    have=$(as_user timeout 120 podman image inspect --format "{{index .Labels \"$LABEL\"}}" \
        "$IMAGE" 2>/dev/null || true)
    if [[ $have == "$DIGEST" ]]; then
        ok "$IMAGE is up to date"
        return
    fi
    change "import $ROOTFS as $IMAGE"
    local flags=(--change "LABEL $LABEL=$DIGEST") c started=$SECONDS
    for c in "${CHANGES[@]}"; do flags+=(--change "$c"); done
    # tar runs as root (the rootfs has root-only files such as /etc/shadow) and
    # keeps numeric owners; rootless podman maps them into the user's subids.
    tar -C "$ROOTFS" --numeric-owner --xattrs "${EXCLUDES[@]/#/--exclude=}" -c . \
        | as_user timeout 600 podman import --quiet "${flags[@]}" - "$IMAGE" >/dev/null
    log "imported $IMAGE in $((SECONDS - started)) s"
}

install -d -m 0755 "$CACHE/rootfs"
rm -rf "$CACHE/buildah-rootfs" "$CACHE/buildah-rootfs.lock"  # this script's old layout
exec 9>"$CACHE/rootfs.lock"  # one run at a time (two makes in parallel)
flock 9
ensure_debootstrap
ensure_rootfs
prune_rootfs
ensure_image
log "done: $IMAGE for $RUNNER_USER"
