#!/usr/bin/env bash
# Build the Debian job images the tests, examples and benchmarks use (as root:
# debootstrap needs it; each image goes to RUNNER_USER's podman store).
# Idempotent: an image whose packages did not change is neither rebuilt nor
# re-imported (deploy/debian-image.sh).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# buildah inside a job (tests/integration/test_in_job_build.py, docs/in-job-builds.md)
"$here/buildah-image.sh"
# GitHub workflows (tests/fixtures/github): bash is GitHub's default shell, git
# and python3 are what most CI steps call.
"$here/debian-image.sh" localhost/runner-ci:bookworm /usr/bin/python3 \
    bash git python3 ca-certificates
# Docker-in-Docker jobs (tests/integration/test_docker_jobs.py, docs/docker-jobs.md): the
# Debian docker CLI (20.10) and compose v1; the daemon in the package is never started.
"$here/debian-image.sh" localhost/runner-docker:bookworm /usr/bin/docker \
    docker.io docker-compose ca-certificates
