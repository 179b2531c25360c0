#!/usr/bin/env bash
# Build the local base images runner's tests and examples use. Run as the
# unprivileged user (the one that runs podman); idempotent.
#
# localhost/busybox:latest is rebuilt only when it is missing or when its
# Containerfile or the host's busybox binary changed (tracked by an image annotation).
set -euo pipefail

IMAGE=localhost/busybox:latest
ANNOTATION=io.github.runner.base-image.digest
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CONTAINERFILE=$HERE/images/busybox/Containerfile
BUSYBOX=/bin/busybox

log() { printf 'base-images: %s\n' "$*" >&2; }

[[ $(id -u) -ne 0 ]] || { log "error: run me as the unprivileged user, not root"; exit 1; }
[[ -x $BUSYBOX ]] || { log "error: $BUSYBOX missing (apt-get install busybox-static)"; exit 1; }

want=$(cat "$CONTAINERFILE" "$BUSYBOX" | sha256sum | cut -d' ' -f1)
have=$(buildah inspect --type image --format "{{index .ImageAnnotations \"$ANNOTATION\"}}" \
    "$IMAGE" 2>/dev/null || true)
if [[ $have == "$want" ]]; then
    log "ok: $IMAGE is up to date"
    exit 0
fi

log "change: building $IMAGE"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$BUSYBOX" "$context/busybox"
buildah build --quiet --network none --pull=never --annotation "$ANNOTATION=$want" \
    --file "$CONTAINERFILE" --tag "$IMAGE" "$context" >/dev/null
log "built $IMAGE"
