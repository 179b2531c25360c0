"""Sizes, job limits in the native format, and how runner-wide limits cap a job's."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import PipelineError
from runner.pipeline.aliases import default_aliases, is_hostname
from runner.pipeline.model import Limits
from runner.pipeline.native import parse_native
from runner.pipeline.sizes import parse_size, show_size


@pytest.mark.parametrize(("text", "size"), [
    ("512m", 512 << 20), ("2g", 2 << 30), ("2GiB", 2 << 30), ("1.5g", 3 << 29), ("10k", 10240),
    ("4096", 4096), (4096, 4096), ("1 MB", 1 << 20), ("1t", 1 << 40),
])
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "m", "-1", "0", 0, True, "1x", "1.2.3m", "ten"])
def test_parse_size_refuses(text: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_show_size() -> None:
    assert (show_size(512 << 20), show_size(3 << 29), show_size(10)) == ("512 MiB", "1.5 GiB",
                                                                         "10 B")


def test_capped_takes_the_tighter_of_each() -> None:
    job = Limits(memory=4 << 30, pids=None, cpus=2.0, disk=None)
    runner = Limits(memory=1 << 30, pids=256, cpus=None, disk=10 << 30)
    assert job.capped(runner) == Limits(memory=1 << 30, pids=256, cpus=2.0, disk=10 << 30)
    assert Limits().capped(Limits()) == Limits()


def _parse(tmp_path: Path, job: str) -> object:
    path = tmp_path / "pipeline.yml"
    path.write_text(f"version: 1\nimage: i\njobs:\n  j:\n    script: [x]\n{job}")
    return parse_native(path, tmp_path).job("j").limits


def test_native_limits(tmp_path: Path) -> None:
    assert _parse(tmp_path, "    limits: {memory: 512m, pids: 100, cpus: 0.5, disk: 1g}\n") == (
        Limits(memory=512 << 20, pids=100, cpus=0.5, disk=1 << 30))


@pytest.mark.parametrize(("body", "column", "key", "message"), [
    ("{memory: lots}", 22, "jobs.j.limits.memory",
     "'memory' of 'limits' of job 'j': expected a size like '512m', '2g' or a number of bytes,"
     " got 'lots'"),
    ("{pids: 0}", 20, "jobs.j.limits.pids",
     "'pids' of 'limits' of job 'j': expected a whole number of processes, got a number"),
    ("{cpus: fast}", 20, "jobs.j.limits.cpus",
     "'cpus' of 'limits' of job 'j': expected a number of CPUs like 1 or 0.5, got a string"),
])
def test_native_limits_errors(tmp_path: Path, body: str, column: int, key: str,
                              message: str) -> None:
    with pytest.raises(PipelineError) as info:
        _parse(tmp_path, f"    limits: {body}\n")
    assert (info.value.spot.line, info.value.spot.column, info.value.spot.key) == (
        6, column, key)
    assert info.value.message == message


def test_unknown_limit_key_is_a_typo(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"unknown key 'memroy'.*did you mean 'memory'"):
        _parse(tmp_path, "    limits: {memroy: 1g}\n")


def test_default_aliases() -> None:
    """gitlab-runner's two forms; a registry port is dropped."""
    assert default_aliases("postgres:15") == ("postgres",)
    assert default_aliases("registry.example.com/team/redis:7") == (
        "registry.example.com__team__redis", "registry.example.com-team-redis")
    assert default_aliases("a/b@sha256:" + "0" * 64) == ("a__b", "a-b")
    assert default_aliases("Not A Reference") is None
    assert default_aliases("registry:5000/x:1") == ("registry__x", "registry-x")
    assert is_hostname("db.internal") and not is_hostname("-db") and not is_hostname("a b")
