"""Which jobs ask for Docker-in-Docker, and what they ask for."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from runner.dockerapi import networks
from runner.dockerapi.seed import base_images
from runner.dockerapi.state import JobState
from runner.engine.apiservice import service_argv
from runner.engine.argv import StoreSpec
from runner.execute.dind import certdir, is_dind
from runner.pipeline.model import Service


@pytest.mark.parametrize(("image", "asks"), [
    ("docker:dind", True), ("docker:24.0.5-dind", True), ("docker:dind-rootless", True),
    ("docker.io/library/docker:27-dind", True), ("mirror.example:5000/docker:dind", True),
    ("docker:24", False), ("docker", False), ("postgres:dind", False),
    ("mydocker:dind", False), ("docker:dind@sha256:" + "a" * 64, True),
])
def test_a_docker_dind_service_of_any_tag_or_prefix_asks(image: str, asks: bool) -> None:
    assert is_dind(Service(image)) is asks


def test_tls_follows_docker_tls_certdir_as_dind_reads_it() -> None:
    assert certdir() == "/certs"
    assert certdir([("DOCKER_TLS_CERTDIR", "/certs")]) == "/certs"
    assert certdir([("DOCKER_TLS_CERTDIR", "")]) is None
    assert certdir([("DOCKER_TLS_CERTDIR", "/a")], [("DOCKER_TLS_CERTDIR", "/b")]) == "/b"
    for odd in ("relative", "/a/../b", "$X/certs", "/a:b"):
        assert certdir([("DOCKER_TLS_CERTDIR", odd)]) is None


def test_the_service_argv_whole() -> None:
    store = StoreSpec(Path("/s"), Path("/r"))
    assert service_argv(Path("/run/x.sock"), "runc", store) == [
        "podman", "--root", "/s", "--runroot", "/r", "--storage-driver", "overlay",
        "--runtime", "runc", "system", "service", "--time", "30", "unix:///run/x.sock"]


def test_virtual_networks_round_trip_with_their_labels() -> None:
    state = JobState(prefix="p")
    status, made = networks.answer(state, "POST", "/networks/create",
                                   b'{"Name": "n", "Labels": {"com.docker.compose.network": "d"}}')
    assert status == 201
    status, found = networks.answer(state, "GET", "/networks/n", b"")
    assert status == 200 and found["Id"] == made["Id"]
    assert found["Labels"] == {"com.docker.compose.network": "d"}
    assert networks.answer(state, "POST", "/networks/create", b'{"Name": "n"}')[0] == 409
    assert networks.answer(state, "DELETE", "/networks/n", b"")[0] == 204
    assert networks.answer(state, "GET", "/networks/n", b"")[0] == 404


def test_container_references_stay_within_the_job() -> None:
    state = JobState(prefix="job1")
    state.names["db"] = "job1-db"
    state.ids.add("abcdef" * 10 + "abcd")
    assert state.container("db") == "job1-db"
    assert state.container("/db") == "job1-db"
    assert state.container("abcdef") == "abcdef" * 10 + "abcd"
    assert state.container("job2-db") is None
    assert state.container("ab") is None  # too short to be an id prefix


def test_base_images_of_a_context(tmp_path: Path) -> None:
    text = (b"FROM --platform=linux/amd64 localhost/a:1 AS one\nARG B=x\nFROM $B\n"
            b"FROM one\nfrom docker.io/library/c:2\nFROM scratch\n")
    context = tmp_path / "c.tar"
    with tarfile.open(context, "w") as tar:
        info = tarfile.TarInfo("sub/Dockerfile")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    assert base_images(context, "sub/Dockerfile") == ["localhost/a:1", "docker.io/library/c:2"]
    assert base_images(context, "Dockerfile") == []
