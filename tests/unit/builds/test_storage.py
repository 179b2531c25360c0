"""Where tenant stores live, and run roots short enough for podman."""

from __future__ import annotations

from pathlib import Path

from runner.build.storage import store_roots, tenant_store
from runner.engine.argv import StoreSpec


def test_store_roots_follow_xdg_dirs() -> None:
    env = {"XDG_DATA_HOME": "/d", "XDG_RUNTIME_DIR": "/run/user/1001"}
    assert store_roots(env, Path("/home/u")) == (Path("/d/runner/builds"),
                                                 Path("/run/user/1001/runner/builds"))
    assert store_roots({}, Path("/home/u"))[0] == Path("/home/u/.local/share/runner/builds")


def test_a_project_key_names_both_roots() -> None:
    """``runner exec``'s tenant keys are 16 hex digits: used as they are."""
    assert tenant_store(Path("/d"), Path("/r"), "0123456789abcdef") == StoreSpec(
        Path("/d/0123456789abcdef"), Path("/r/0123456789abcdef"))


def test_a_long_tenant_gets_a_short_run_root() -> None:
    """podman refuses run roots over 50 characters; the agent's tenants are long."""
    tenant = "gitlab-gitlab.example.com_443-123456"
    store = tenant_store(Path("/d"), Path("/run/user/1001/runner/builds"), tenant)
    assert store.root == Path("/d") / tenant
    assert len(store.runroot.name) == 16 and len(str(store.runroot)) <= 50
    other = tenant_store(Path("/d"), Path("/r"), "gitlab-gitlab.example.com_443-123457")
    assert other.runroot.name != store.runroot.name
