"""``DOCKER_AUTH_CONFIG`` read as gitlab-runner reads it; passwords never in errors or argv."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from runner.build import access
from runner.cli.exec_images import with_docker_auth
from runner.engine.buildargv import pull_argv
from runner.engine.imageref import ImageRef
from runner.errors import UserInputError
from runner.pipeline.dockerauth import Credential, parse_docker_auth, registry_host
from runner.pipeline.load import LoadOptions
from runner.pipeline.model import Job, Pipeline, Registry, SecretSource

PASSWORD = "hunter2-very-secret"
B64 = base64.b64encode(f"me:{PASSWORD}".encode()).decode()


def test_auth_and_username_password_forms() -> None:
    text = json.dumps({"auths": {
        "reg.example:5000": {"auth": B64},
        "https://index.docker.io/v1/": {"username": "hub", "password": "pw"},
        "quay.io": {"email": "nothing else"},
    }})
    assert parse_docker_auth(text, "env") == (
        Credential("reg.example:5000", "me", PASSWORD, B64),
        Credential("docker.io", "hub", "pw"))


@pytest.mark.parametrize("text", [
    '{"auths": {"r": {"auth": "%%%"}}}',
    '{"credsStore": "desktop"}',
    '{"credHelpers": {"r": "ecr-login"}}',
    f'{{"auths": {{"r": {{"auth": "{B64}"}}}}, "credsStore": "osxkeychain"}}',
    "not json " + PASSWORD,
    '["a"]',
])
def test_mistakes_are_clear_and_never_quote_the_value(text: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_docker_auth(text, "the environment")
    message = str(caught.value)
    assert message.startswith("DOCKER_AUTH_CONFIG (from the environment)")
    assert PASSWORD not in message and B64 not in message


def test_helpers_are_refused_saying_what_to_do() -> None:
    with pytest.raises(UserInputError, match="does not run credential helpers; put the "
                       "registry's login in 'auths'"):
        parse_docker_auth('{"credHelpers": {"r": "ecr-login"}}', "env")


def test_registry_names() -> None:
    assert registry_host("https://reg.example:5000/v2/") == "reg.example:5000"
    assert registry_host("registry-1.docker.io") == "docker.io"


def _pipeline(dialect: str = "gitlab", registries: tuple[Registry, ...] = ()) -> Pipeline:
    return Pipeline(Path("f"), Path("."), (Job("j", "reg.example:5000/app:1", ("true",)),),
                    dialect=dialect, registries=registries)


def test_the_pipelines_variables_come_before_the_environment() -> None:
    doc = json.dumps({"auths": {"reg.example:5000": {"auth": B64}}})
    other = json.dumps({"auths": {"other.example": {"auth": B64}}})
    options = LoadOptions(secrets=(SecretSource("DOCKER_AUTH_CONFIG", value=doc),))
    got = with_docker_auth(_pipeline(), options, {"DOCKER_AUTH_CONFIG": other})
    assert [r.host for r in got.registries] == ["reg.example:5000"]
    registry = got.registries[0]
    assert registry.username == "me"
    secret = next(s for s in got.secrets if s.name == registry.password_secret)
    assert secret.value == PASSWORD
    assert B64 in [s.value for s in got.secrets]  # the base64 form is masked as well
    assert PASSWORD not in repr(got)  # the model's repr never shows it
    assert not any(registry.password_secret in job.secrets for job in got.jobs)  # no job sees it
    from_env = with_docker_auth(_pipeline(), LoadOptions(), {"DOCKER_AUTH_CONFIG": other})
    assert [r.host for r in from_env.registries] == ["other.example"]


def test_the_native_format_and_known_registries_keep_their_own_access() -> None:
    env = {"DOCKER_AUTH_CONFIG": json.dumps({"auths": {"reg.example:5000": {"auth": B64}}})}
    native = _pipeline("native")
    assert with_docker_auth(native, LoadOptions(), env) is native
    own = Registry("reg.example:5000", username="x", password_secret="S")
    assert with_docker_auth(_pipeline(registries=(own,)), LoadOptions(), env).registries == (
        own,)


def test_the_pull_argv_carries_a_path_never_the_password(tmp_path: Path) -> None:
    registry = Registry("reg.example:5000", username="me", password_secret="pw")
    plan = access.prepare(tmp_path, registries=[registry], secrets={"pw": PASSWORD},
                          refs=["reg.example:5000/app:1"], destinations=())
    argv = pull_argv(ImageRef("reg.example:5000/app:1"), plan.build)
    assert not any(PASSWORD in arg or B64 in arg for arg in argv)
    assert f"--authfile={tmp_path / 'auth.json'}" in argv or str(tmp_path / "auth.json") in argv
    assert (tmp_path / "auth.json").stat().st_mode & 0o777 == 0o600
