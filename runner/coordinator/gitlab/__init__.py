"""GitLab as a coordinator: its runner API, and the jobs it hands out.

``payload`` checks and mirrors the JSON of a job GitLab hands a runner,
``tomodel`` makes a one-job ``Pipeline`` of it, ``failures`` maps our failure
kinds to the reasons a given GitLab accepts; those three are pure (no network).
"""
