# actions/runner's container hooks entry point: set ACTIONS_RUNNER_CONTAINER_HOOKS to this file.
#
# actions/runner accepts only .js, .sh and .ps1 hooks and runs a .sh one as
# `bash -e runner-hook.sh` (or `sh -e`), with the hook's JSON on stdin and the
# step log on stdout. exec keeps all three, and the exit status, runner's own.
# RUNNER_BIN names the runner executable; by default, the venv of the checkout
# this file is in (deploy/github-runner/ -> ../../.venv/bin/runner).
here=$(cd -- "$(dirname -- "$0")" && pwd)
exec "${RUNNER_BIN:-$here/../../.venv/bin/runner}" github-hook "$@"
