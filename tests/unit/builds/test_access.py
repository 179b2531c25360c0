"""Tests of runner.build.access: registry hosts, the user's auth file, per-job access plans."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from runner.build.access import AccessPlan, prepare, registry_host, standard_authfile
from runner.engine.buildargv import RegistryAccess
from runner.errors import UserInputError
from runner.pipeline.model import Registry, Spot


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _files(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` by relative path, with its text."""
    return {str(p.relative_to(directory)): p.read_text()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- registry_host ----------------------------------------------------------------


@pytest.mark.parametrize(("ref", "host"), [
    ("busybox", "docker.io"),
    ("busybox:1.36", "docker.io"),
    ("library/busybox", "docker.io"),
    ("team/app:1", "docker.io"),
    ("docker.io/library/alpine:3", "docker.io"),
    ("localhost/x", "localhost"),
    ("localhost:5000/x", "localhost:5000"),
    ("127.0.0.1:34407/cli:1", "127.0.0.1:34407"),
    ("a.b/c/d", "a.b"),
    ("quay.io/team/app@sha256:0123", "quay.io"),
    ("registry:5000/app", "registry:5000"),
])
def test_registry_host(ref: str, host: str) -> None:
    """The first component is a host only with a dot, a port or as localhost."""
    assert registry_host(ref) == host


# -- standard_authfile ----------------------------------------------------------------


def _authfiles(tmp_path: Path) -> tuple[dict[str, str], Path, list[Path]]:
    """An environment and home with every candidate auth file present, in precedence order."""
    home = tmp_path / "home"
    env = {"REGISTRY_AUTH_FILE": str(tmp_path / "explicit.json"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    paths = [tmp_path / "explicit.json", tmp_path / "run/containers/auth.json",
             tmp_path / "cfg/containers/auth.json", home / ".docker/config.json"]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    return env, home, paths


def test_standard_authfile_precedence(tmp_path: Path) -> None:
    """REGISTRY_AUTH_FILE, then the runtime dir, then the config dir, then Docker's file."""
    env, home, paths = _authfiles(tmp_path)
    found = []
    for path in paths:
        found.append(standard_authfile(env, home))
        path.unlink()
    assert found == paths
    assert standard_authfile(env, home) is None


def test_standard_authfile_only_existing_files_count(tmp_path: Path) -> None:
    """A named file that does not exist is passed over for the next that does."""
    env, home, paths = _authfiles(tmp_path)
    paths[0].unlink()
    paths[1].unlink()
    assert standard_authfile(env, home) == paths[2]


def test_standard_authfile_default_config_dir(tmp_path: Path) -> None:
    """Without XDG_CONFIG_HOME the config dir is ~/.config; empty variables count as unset."""
    home = tmp_path / "home"
    config = home / ".config/containers/auth.json"
    config.parent.mkdir(parents=True)
    config.write_text("{}")
    (home / ".docker").mkdir()
    (home / ".docker/config.json").write_text("{}")
    env = {"REGISTRY_AUTH_FILE": "", "XDG_RUNTIME_DIR": "", "XDG_CONFIG_HOME": ""}
    assert standard_authfile(env, home) == config
    assert standard_authfile({}, home) == config


def test_standard_authfile_xdg_config_home_replaces_dot_config(tmp_path: Path) -> None:
    """With XDG_CONFIG_HOME set, ~/.config is not looked at."""
    home = tmp_path / "home"
    config = home / ".config/containers/auth.json"
    config.parent.mkdir(parents=True)
    config.write_text("{}")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert standard_authfile(env, home) is None
    docker = home / ".docker/config.json"
    docker.parent.mkdir()
    docker.write_text("{}")
    assert standard_authfile(env, home) == docker


# -- prepare: auth file ------------------------------------------------------------------


def _dir(tmp_path: Path) -> Path:
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o700, parents=True)
    return scratch


def test_prepare_nothing_configured(tmp_path: Path) -> None:
    """No registries, no user auth file: buildah's defaults everywhere, nothing written."""
    scratch = _dir(tmp_path)
    plan = prepare(scratch, registries=(), secrets={}, refs=["alpine"],
                   destinations=["reg.example.com/app:1"])
    assert plan == AccessPlan(RegistryAccess(), {"reg.example.com": RegistryAccess()})
    assert list(scratch.iterdir()) == []


def test_prepare_without_credentials_passes_a_named_authfile(tmp_path: Path) -> None:
    """Without pipeline credentials an auth file the user named is used as is, not copied."""
    scratch = _dir(tmp_path)
    base = tmp_path / "auth.json"
    base.write_text("not even json")  # not read: buildah gets the path only
    registries = [Registry("reg.example.com", insecure=False)]
    plan = prepare(scratch, registries=registries, secrets={}, refs=["alpine"],
                   destinations=["reg.example.com/app:1"], authfile=base)
    assert plan == AccessPlan(RegistryAccess(base), {"reg.example.com": RegistryAccess(base)})
    assert list(scratch.iterdir()) == []


def test_prepare_without_credentials_leaves_the_standard_lookup_to_buildah(
        tmp_path: Path) -> None:
    """``--authfile`` would make buildah read that one file only: the user's other logins
    (say ``~/.docker/config.json`` beside ``auth.json``) must keep working."""
    scratch = _dir(tmp_path)
    standard = tmp_path / "auth.json"
    standard.write_text("{}")
    plan = prepare(scratch, registries=[], secrets={}, refs=["alpine"],
                   destinations=["reg.example.com/app:1"], standard=standard)
    assert plan == AccessPlan(RegistryAccess(), {"reg.example.com": RegistryAccess()})


def test_prepare_keeps_credential_helpers_of_the_base_file(tmp_path: Path) -> None:
    """Merging pipeline credentials keeps ``credHelpers``/``credsStore`` of the user's file."""
    scratch = _dir(tmp_path)
    standard = tmp_path / "auth.json"
    standard.write_text(json.dumps({"credHelpers": {"gcr.io": "gcloud"}, "credsStore": "pass"}))
    registries = [Registry("reg.example.com", username="ci", password_secret="PW")]
    prepare(scratch, registries=registries, secrets={"PW": "p"}, refs=[], destinations=[],
            standard=standard)
    assert json.loads((scratch / "auth.json").read_text()) == {
        "credHelpers": {"gcr.io": "gcloud"}, "credsStore": "pass",
        "auths": {"reg.example.com": {"auth": _b64("ci:p")}},
    }


def test_prepare_writes_a_private_auth_file_merged_over_the_base(tmp_path: Path) -> None:
    """Pipeline credentials join the user's ``auths``; for the same host the pipeline wins."""
    scratch = _dir(tmp_path)
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"auths": {"reg.example.com": {"auth": _b64("old:old")},
                                          "quay.io": {"auth": _b64("q:q")}}}))
    registries = [
        Registry("reg.example.com", username="ci", password_secret="REG_PW"),
        Registry("127.0.0.1:5000", username="bob", password_secret="LOCAL_PW"),
        Registry("plain.example.com"),
    ]
    secrets = {"REG_PW": "s3cret", "LOCAL_PW": "pw:with:colons", "OTHER": "unused"}
    plan = prepare(scratch, registries=registries, secrets=secrets, refs=["alpine"],
                   destinations=["127.0.0.1:5000/app:1"], standard=base)
    authfile = scratch / "auth.json"
    assert plan == AccessPlan(RegistryAccess(authfile),
                              {"127.0.0.1:5000": RegistryAccess(authfile)})
    assert _mode(authfile) == 0o600
    assert json.loads(authfile.read_text()) == {"auths": {
        "reg.example.com": {"auth": _b64("ci:s3cret")},
        "quay.io": {"auth": _b64("q:q")},
        "127.0.0.1:5000": {"auth": _b64("bob:pw:with:colons")},
    }}
    assert "s3cret" not in authfile.read_text()
    assert json.loads(base.read_text())["auths"]["reg.example.com"] == {"auth": _b64("old:old")}


def test_prepare_credentials_without_a_base_file(tmp_path: Path) -> None:
    """With no user auth file, the job's file holds the pipeline's credentials only."""
    scratch = _dir(tmp_path)
    registries = [Registry("reg.example.com", username="ci", password_secret="PW")]
    plan = prepare(scratch, registries=registries, secrets={"PW": "p"}, refs=[],
                   destinations=[])
    assert plan == AccessPlan(RegistryAccess(scratch / "auth.json"), {})
    assert json.loads((scratch / "auth.json").read_text()) == {
        "auths": {"reg.example.com": {"auth": _b64("ci:p")}},
    }


def test_prepare_base_file_without_auths(tmp_path: Path) -> None:
    """A base file that is valid JSON but has no ``auths`` mapping contributes nothing."""
    scratch = _dir(tmp_path)
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"auths": ["not", "a", "mapping"]}))
    registries = [Registry("reg.example.com", username="ci", password_secret="PW")]
    prepare(scratch, registries=registries, secrets={"PW": "p"}, refs=[], destinations=[],
            standard=base)
    assert json.loads((scratch / "auth.json").read_text()) == {
        "auths": {"reg.example.com": {"auth": _b64("ci:p")}},
    }


def test_prepare_broken_base_file_is_a_user_error(tmp_path: Path) -> None:
    """A base auth file that is not JSON is named, with the parser's reason."""
    scratch = _dir(tmp_path)
    base = tmp_path / "base.json"
    base.write_text("{not json")
    registries = [Registry("reg.example.com", username="ci", password_secret="PW")]
    with pytest.raises(UserInputError) as info:
        prepare(scratch, registries=registries, secrets={"PW": "p"}, refs=[], destinations=[],
                standard=base)
    assert str(info.value) == (
        f"registry auth file {base} cannot be read: Expecting property name enclosed in double"
        " quotes: line 1 column 2 (char 1)"
    )
    assert not (scratch / "auth.json").exists()


def test_prepare_unreadable_base_file_is_a_user_error(tmp_path: Path) -> None:
    """A base auth file that cannot be opened is named too."""
    scratch = _dir(tmp_path)
    base = tmp_path / "gone.json"
    registries = [Registry("reg.example.com", username="ci", password_secret="PW")]
    with pytest.raises(UserInputError) as info:
        prepare(scratch, registries=registries, secrets={"PW": "p"}, refs=[], destinations=[],
                standard=base)
    assert str(info.value) == (
        f"registry auth file {base} cannot be read: [Errno 2] No such file or directory:"
        f" '{base}'"
    )


# -- prepare: CAs and insecure ---------------------------------------------------------


def _cas(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.crt", tmp_path / "b.crt"
    a.write_text("CA OF A\n")
    b.write_text("CA OF B\n")
    return a, b


def test_prepare_ca_dirs_hold_only_the_relevant_registries(tmp_path: Path) -> None:
    """Each push host gets its own CA only; the build gets the CAs of the hosts it touches."""
    scratch = _dir(tmp_path)
    a, b = _cas(tmp_path)
    registries = [
        Registry("a.example.com", ca_file=a),
        Registry("b.example.com:5000", ca_file=b),
        Registry("c.example.com", insecure=True),
    ]
    plan = prepare(
        scratch, registries=registries, secrets={},
        refs=["a.example.com/base:1", "docker.io/library/alpine"],
        destinations=["b.example.com:5000/app:1", "b.example.com:5000/app:latest",
                      "c.example.com/app:1", "a.example.com/app:1"],
    )
    assert plan == AccessPlan(
        RegistryAccess(None, scratch / "certs-build"),
        {
            "b.example.com:5000": RegistryAccess(None, scratch / "certs-0"),
            "c.example.com": RegistryAccess(None, None, tls_verify=False),
            "a.example.com": RegistryAccess(None, scratch / "certs-2"),
        },
    )
    assert _files(scratch) == {
        "certs-0/ca-0.crt": "CA OF B\n",
        "certs-2/ca-0.crt": "CA OF A\n",
        "certs-build/ca-0.crt": "CA OF A\n",
    }
    assert [_mode(scratch / d) for d in ("certs-0", "certs-2", "certs-build")] == [0o700] * 3
    assert plan.for_push("b.example.com:5000/app:latest") == plan.pushes["b.example.com:5000"]
    assert plan.for_push("elsewhere.io/app") == plan.build


def test_prepare_build_touching_several_registries_gets_all_their_cas(tmp_path: Path) -> None:
    """Base images and cache repositories on two registries: both CAs, ordered by host."""
    scratch = _dir(tmp_path)
    a, b = _cas(tmp_path)
    registries = [Registry("b.example.com:5000", ca_file=b), Registry("a.example.com", ca_file=a)]
    plan = prepare(scratch, registries=registries, secrets={},
                   refs=["b.example.com:5000/cache", "a.example.com/base:1"],
                   destinations=[])
    assert plan == AccessPlan(RegistryAccess(None, scratch / "certs-build"), {})
    assert _files(scratch) == {
        "certs-build/ca-0.crt": "CA OF A\n",
        "certs-build/ca-1.crt": "CA OF B\n",
    }


def test_prepare_insecure_only_for_that_host(tmp_path: Path) -> None:
    """``insecure`` turns TLS verification off for calls to that registry, not others."""
    scratch = _dir(tmp_path)
    registries = [Registry("insecure.local:5000", insecure=True), Registry("reg.example.com")]
    plan = prepare(scratch, registries=registries, secrets={}, refs=["docker.io/library/alpine"],
                   destinations=["insecure.local:5000/app", "reg.example.com/app"],
                   )
    assert plan == AccessPlan(RegistryAccess(), {
        "insecure.local:5000": RegistryAccess(tls_verify=False),
        "reg.example.com": RegistryAccess(),
    })
    pulling = prepare(_dir(tmp_path / "x"), registries=registries, secrets={},
                      refs=["insecure.local:5000/base"], destinations=[])
    assert pulling.build == RegistryAccess(tls_verify=False)


def test_prepare_auth_file_and_ca_together(tmp_path: Path) -> None:
    """A registry with credentials and a CA: the push has both."""
    scratch = _dir(tmp_path)
    a, _ = _cas(tmp_path)
    registries = [Registry("a.example.com", ca_file=a, username="u", password_secret="PW")]
    plan = prepare(scratch, registries=registries, secrets={"PW": "p"}, refs=["alpine"],
                   destinations=["a.example.com/app"])
    assert plan == AccessPlan(
        RegistryAccess(scratch / "auth.json"),
        {"a.example.com": RegistryAccess(scratch / "auth.json", scratch / "certs-0")},
    )


def test_prepare_unreadable_ca_names_the_registry_spot(tmp_path: Path) -> None:
    """A CA file that cannot be read is the user's to fix, pointed at its registry entry."""
    scratch = _dir(tmp_path)
    missing = tmp_path / "missing.crt"
    registries = [Registry("reg.example.com", ca_file=missing,
                           spot=Spot("/p/pipeline.yml", 7, 3))]
    with pytest.raises(UserInputError) as info:
        prepare(scratch, registries=registries, secrets={}, refs=[],
                destinations=["reg.example.com/app"])
    assert str(info.value) == (
        f"/p/pipeline.yml:7:3: 'ca_file' {missing} cannot be read: No such file or directory"
    )


def test_prepare_unreadable_ca_without_spot(tmp_path: Path) -> None:
    """Without a spot (``runner build`` options) the message starts at the file."""
    scratch = _dir(tmp_path)
    registries = [Registry("reg.example.com", ca_file=tmp_path)]  # a directory
    with pytest.raises(UserInputError) as info:
        prepare(scratch, registries=registries, secrets={}, refs=["reg.example.com/base"],
                destinations=[])
    assert str(info.value) == f"'ca_file' {tmp_path} cannot be read: Is a directory"


def test_prepare_names_registries_a_build_reaches_unverified(tmp_path: Path) -> None:
    """buildah has one TLS switch per build: the others it then reaches are named for a warning."""
    scratch = _dir(tmp_path)
    registries = [Registry("insecure.local:5000", insecure=True), Registry("reg.example.com")]
    plan = prepare(scratch, registries=registries, secrets={},
                   refs=["insecure.local:5000/base", "alpine", "reg.example.com/cache"],
                   destinations=["reg.example.com/app"])
    assert plan.build == RegistryAccess(tls_verify=False)
    assert plan.unverified == ("docker.io", "reg.example.com")
    assert plan.for_push("reg.example.com/app") == RegistryAccess()
