#!/usr/bin/env bash
# Build runner's wheel and sdist, offline: deploy/build-dist.sh [REF [OUTDIR]]
#
# REF is a git revision (default: the working tree: tracked files and untracked ones
# that are not ignored, as they are now); OUTDIR defaults to dist/ in the checkout.
# The source is copied to a temporary directory first, so the checkout (root-owned in
# CI) gets no build/ or egg-info, and any user can run this. Uses Debian's python3 with
# python3-build, setuptools and wheel (setup-host --dev installs them) and
# --no-isolation, because an isolated build would download setuptools.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
REF=${1:-}
OUT=$(realpath -m "${2:-$REPO/dist}")
SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
git_() { git -c safe.directory='*' -C "$REPO" "$@"; }
if [[ -n $REF ]]; then
    git_ archive "$REF" | tar -x -C "$SRC"
else
    git_ ls-files -z -co --exclude-standard | (cd "$REPO" && while IFS= read -r -d '' f; do
        [[ -e $f ]] && printf '%s\0' "$f"; done) | (cd "$REPO" && tar -c --null -T - -f -) \
        | tar -x -C "$SRC"
fi
/usr/bin/python3 -m build --no-isolation --outdir "$OUT" "$SRC" >"$SRC.log" 2>&1 \
    || { cat "$SRC.log" >&2; rm -f "$SRC.log"; exit 1; }
rm -f "$SRC.log"
ls "$OUT"/runner-*.whl "$OUT"/runner-*.tar.gz
