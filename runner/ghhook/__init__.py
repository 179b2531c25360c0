"""``runner github-hook``: runner as the container hooks of GitHub's own self-hosted runner.

actions/runner can hand its job containers, services and container actions
to a hook script (``ACTIONS_RUNNER_CONTAINER_HOOKS``) instead of ``docker``.
This package is that hook: each call is a new process that reads one JSON
line on stdin, does one command (``prepare_job``, ``run_script_step``,
``run_container_step``, ``cleanup_job``) with runner's rootless engine, and
writes the response file. Memory between calls lives in the ``state`` the
runner passes back and in a private per-job directory (``jobdir``).
The interface is documented in docs/github-runner.md.
"""
