#!/usr/bin/env bash
# Build localhost/runner-buildah:bookworm, a Debian bookworm image with buildah
# in it, for the in-job build test (docs/in-job-builds.md). Run as root; idempotent.
#
# buildah's Depends pull in containers-common, which depends on the virtual
# "container-network-stack"; debootstrap cannot resolve virtual packages, so
# the provider is named here. ca-certificates: TLS to real registries.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/debian-image.sh" localhost/runner-buildah:bookworm \
    /usr/bin/buildah buildah containernetworking-plugins ca-certificates
