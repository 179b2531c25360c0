"""A job-scoped Docker API: podman's compat service behind a filtering proxy (issue 21)."""
