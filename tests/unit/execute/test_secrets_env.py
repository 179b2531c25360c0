"""Secret variables leave runner's environment once read, so no child inherits them (P4)."""

from __future__ import annotations

from pathlib import Path

from runner.execute.secrets import resolve_secrets, withhold_from_children
from runner.pipeline.model import Pipeline, SecretSource


def test_every_env_secret_is_dropped_listed_by_a_job_or_not(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("file-secret-value\n")
    pipeline = Pipeline(tmp_path / "pipeline.yml", tmp_path, (), secrets=(
        SecretSource("USED", env="DEPLOY_TOKEN"), SecretSource("IDLE", env="OTHER_TOKEN"),
        SecretSource("FILE", file=key), SecretSource("INLINE", value="inline-secret-value")))
    environ = {"DEPLOY_TOKEN": "deploy-token-value", "OTHER_TOKEN": "other-token-value",
               "HOME": "/home/u", "PATH": "/usr/bin"}
    values = resolve_secrets(pipeline, environ)
    assert withhold_from_children(pipeline, environ) == ["DEPLOY_TOKEN", "OTHER_TOKEN"]
    assert environ == {"HOME": "/home/u", "PATH": "/usr/bin"}
    assert values == {"USED": "deploy-token-value", "IDLE": "other-token-value",
                      "FILE": "file-secret-value", "INLINE": "inline-secret-value"}


def test_names_every_child_needs_stay(tmp_path: Path) -> None:
    """A secret read from HOME (odd, but the pipeline's choice) must not break podman."""
    pipeline = Pipeline(tmp_path / "pipeline.yml", tmp_path, (), secrets=(
        SecretSource("ODD", env="HOME"), SecretSource("TOKEN", env="DEPLOY_TOKEN")))
    environ = {"HOME": "/home/some-user", "DEPLOY_TOKEN": "deploy-token-value"}
    assert withhold_from_children(pipeline, environ) == ["DEPLOY_TOKEN"]
    assert environ == {"HOME": "/home/some-user"}
