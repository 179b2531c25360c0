#!/usr/bin/env bash
# Prepare a Debian 12 host for rootless runner jobs. Run as root; idempotent.
#
# Every step checks first and only acts (and logs "change:") when something
# is not right yet, so a second run prints only "ok:" lines. See
# docs/host-setup.md for why each step exists.
#
# Environment: RUNNER_USER (default: runner) is the unprivileged user that
# runs podman; the checkout is the directory above this script.
set -euo pipefail

RUNNER_USER=${RUNNER_USER:-runner}
SLICE=65536                      # ids one job's uid slice takes
WANT_IDS=$((64 * SLICE))         # 4194304: room for 64 concurrent jobs
PACKAGES=(buildah podman runc crun uidmap slirp4netns fuse-overlayfs catatonit
          docker-registry busybox-static skopeo python3-venv python3-pip make git
          apache2-utils)
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

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        ok "packages installed"
        return
    fi
    change "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
}

ensure_user() {
    if id -u "$RUNNER_USER" >/dev/null 2>&1; then
        ok "user $RUNNER_USER exists"
    else
        change "useradd $RUNNER_USER"
        useradd --create-home --shell /bin/bash "$RUNNER_USER"
    fi
    RUNNER_UID=$(id -u "$RUNNER_USER")
    RUNNER_GID=$(id -g "$RUNNER_USER")
    RUNNER_HOME=$(getent passwd "$RUNNER_USER" | cut -d: -f6)
    [[ -d $RUNNER_HOME ]] || die "home $RUNNER_HOME of $RUNNER_USER does not exist"
}

ids_of_user() {
    # Total ids granted to the user in a subid file (entries by name or uid).
    awk -F: -v n="$RUNNER_USER" -v u="$RUNNER_UID" \
        '($1 == n || $1 == u) && $3 ~ /^[0-9]+$/ { t += $3 } END { printf "%.0f\n", t }' "$1"
}

free_start() {
    # First 65536-aligned id above every range in both files (and >= 100000).
    cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: -v s="$SLICE" '
        $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && $2 + $3 > m { m = $2 + $3 }
        END { if (m < 100000) m = 100000; printf "%.0f\n", int((m + s - 1) / s) * s }'
}

ensure_subids() {
    touch /etc/subuid /etc/subgid
    local uids gids start end flags=()
    uids=$(ids_of_user /etc/subuid)
    gids=$(ids_of_user /etc/subgid)
    start=$(free_start)
    end=$((start + WANT_IDS - 1))
    if ((uids >= WANT_IDS)); then
        ok "subuids: $uids ids"
    else
        change "subuids: $uids ids; adding $start-$end"
        flags+=(--add-subuids "$start-$end")
    fi
    if ((gids >= WANT_IDS)); then
        ok "subgids: $gids ids"
    else
        change "subgids: $gids ids; adding $start-$end"
        flags+=(--add-subgids "$start-$end")
    fi
    if ((${#flags[@]} > 0)); then
        usermod "${flags[@]}" "$RUNNER_USER"
        SUBIDS_CHANGED=1
    fi
}

ensure_tun() {
    local tun=/dev/net/tun mode
    if [[ ! -c $tun ]]; then
        log "warning: $tun missing (try: modprobe tun); job networking will fail"
        return
    fi
    mode=$(stat -c %a "$tun")
    if (((8#$mode & 8#006) == 8#006)); then
        ok "$tun mode $mode"
    else
        change "chmod 666 $tun (was $mode; slirp4netns needs it)"
        chmod 666 "$tun"
    fi
}

ensure_fuse() {
    # The runc engine shows image layers to each job's uid slice through
    # fuse-overlayfs; distributions ship /dev/fuse 0666, some VMs 0600.
    local fuse=/dev/fuse mode
    if [[ ! -c $fuse ]]; then
        log "warning: $fuse missing (try: modprobe fuse); jobs will start with podman"
        return
    fi
    mode=$(stat -c %a "$fuse")
    if (((8#$mode & 8#006) == 8#006)); then
        ok "$fuse mode $mode"
    else
        change "chmod 666 $fuse (was $mode; the runc engine's fuse-overlayfs needs it)"
        chmod 666 "$fuse"
    fi
}

ensure_shared_root() {
    if findmnt -no PROPAGATION / | grep -q shared; then
        ok "/ is a shared mount"
    else
        change "mount --make-rshared /"
        mount --make-rshared /
    fi
}

write_user_file() {
    # write_user_file PATH CONTENT: owned by the user; an old differing file is kept as .bak.
    local path=$1 content=$2 dir d
    dir=$(dirname "$path")
    if [[ -f $path ]] && printf '%s' "$content" | cmp -s - "$path"; then
        ok "$path"
    else
        if [[ -e $path ]]; then
            change "$path differs; old one kept as $path.bak"
            cp -p "$path" "$path.bak"
        else
            change "write $path"
        fi
        for d in "$RUNNER_HOME/.config" "$dir"; do  # create, but never re-own or re-mode
            [[ -d $d ]] || install -d -o "$RUNNER_UID" -g "$RUNNER_GID" -m 0755 "$d"
        done
        printf '%s' "$content" >"$path.tmp"
        chown "$RUNNER_UID:$RUNNER_GID" "$path.tmp"
        chmod 0644 "$path.tmp"
        mv -f "$path.tmp" "$path"
    fi
}

ensure_container_confs() {
    local dir=$RUNNER_HOME/.config/containers
    write_user_file "$dir/storage.conf" $'[storage]\ndriver = "overlay"\n'
    write_user_file "$dir/containers.conf" $'[engine]\nruntime = "runc"\n'
}

ensure_runtime_dir() {
    local dir=/run/user/$RUNNER_UID
    if [[ -d $dir && $(stat -c '%u %a' "$dir") == "$RUNNER_UID 700" ]]; then
        ok "$dir"
    else
        change "install -d -m 0700 $dir"
        install -d -m 0755 /run/user
        install -d -o "$RUNNER_UID" -g "$RUNNER_GID" -m 0700 "$dir"
        chown "$RUNNER_UID:$RUNNER_GID" "$dir"
        chmod 0700 "$dir"
    fi
}

migrate_podman() {
    if [[ ${SUBIDS_CHANGED:-0} == 1 ]]; then
        change "podman system migrate (subid ranges changed)"
        as_user podman system migrate
    fi
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

install_packages
ensure_user
ensure_subids
ensure_tun
ensure_fuse
ensure_shared_root
ensure_container_confs
ensure_runtime_dir
migrate_podman
ensure_traversable
ensure_venv
ensure_bytecode
log "done: host ready for $RUNNER_USER (uid $RUNNER_UID)"
