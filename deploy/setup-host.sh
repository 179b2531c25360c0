#!/usr/bin/env bash
# Prepare a Debian 12 host and this checkout for rootless runner jobs. Run as root;
# idempotent.
#
# The host's part is `runner setup-host` (runner/host/setup.py), run here with
# Debian's python3 before any venv exists; a pip-installed runner runs the same
# code. This script adds what only a checkout needs: the packages its tests use
# (--dev), a path the user can traverse, the venv and its bytecode. Every step
# checks first and only acts (and logs "change:") when something is not right
# yet, so a second run prints only "ok:" lines. See docs/host-setup.md.
#
# Environment: RUNNER_USER (default: runner) is the unprivileged user that
# runs podman; the checkout is the directory above this script.
set -euo pipefail

RUNNER_USER=${RUNNER_USER:-runner}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

log() { printf 'setup-host: %s\n' "$*" >&2; }
change() { log "change: $*"; }
ok() { log "ok: $*"; }
die() { log "error: $*"; exit 1; }

as_user() {
    # Run a command as the unprivileged user from / (the caller's cwd may be
    # unreadable for it) with the runtime dir podman expects.
    (cd / && runuser -u "$RUNNER_USER" -- env XDG_RUNTIME_DIR="/run/user/$RUNNER_UID" "$@")
}

[[ $(id -u) -eq 0 ]] || die "run me as root (sudo RUNNER_USER=$(id -un) $0)"

host_setup() {
    # A minimal Debian may lack python3 itself: everything else is runner.host.setup's.
    if [[ ! -x /usr/bin/python3 ]]; then
        change "apt-get install python3"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
    fi
    (cd / && PYTHONPATH=$REPO /usr/bin/python3 -B -m runner.host.setup --dev \
        --user "$RUNNER_USER")
    RUNNER_UID=$(id -u "$RUNNER_USER")
}

ensure_traversable() {
    # The user must reach the checkout through every ancestor (o+x, never o+r).
    local dir=$REPO
    while :; do
        if [[ $(stat -c %A "$dir") != *[xt] ]]; then
            change "chmod o+x $dir (so $RUNNER_USER can reach the checkout)"
            chmod o+x "$dir"
        fi
        [[ $dir == / ]] && break
        dir=$(dirname "$dir")
    done
    ok "ancestors of $REPO are traversable"
    if as_user test -r "$REPO/pyproject.toml"; then
        ok "$RUNNER_USER can read the checkout"
    else
        die "$RUNNER_USER cannot read $REPO/pyproject.toml (check the checkout's permissions)"
    fi
}

ensure_bytecode() {
    # A checkout the user cannot write (CI's, as root) gets its bytecode compiled
    # here, as a distro package would: otherwise every `runner` start recompiles
    # the whole package in memory (~0.1-0.3 s of each run). A checkout the user
    # owns is left alone: Python writes the bytecode itself there.
    if runuser -u "$RUNNER_USER" -- test -w "$REPO/runner"; then
        ok "bytecode: $RUNNER_USER can write the checkout"
        return
    fi
    (umask 022 && "$REPO/.venv/bin/python" -m compileall -q "$REPO/runner" "$REPO/benchmarks" \
        >/dev/null)
    ok "bytecode compiled for the read-only checkout"
}

ensure_venv() {
    local venv=$REPO/.venv stamp want
    stamp=$venv/.runner-setup-stamp
    want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1) $(/usr/bin/python3 -V 2>&1)"
    if [[ -e $venv ]] && ! grep -qx 'home = /usr/bin' "$venv/pyvenv.cfg" 2>/dev/null; then
        change "remove $venv (not made by /usr/bin/python3, which every user can run)"
        rm -rf "$venv"
    fi
    if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
        ok ".venv is up to date"
        return
    fi
    change "create $venv and pip install -e '.[test]'"
    (
        umask 022
        cd "$REPO"
        [[ -x $venv/bin/python ]] || /usr/bin/python3 -m venv "$venv"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
            --quiet --root-user-action=ignore -e '.[test]'
        printf '%s\n' "$want" >"$stamp"
    )
}

host_setup
ensure_traversable
ensure_venv
ensure_bytecode
log "done: host ready for $RUNNER_USER (uid $RUNNER_UID)"
