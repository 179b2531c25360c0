"""The image reference grammar every image a tenant names goes through (``imageref``)."""

from __future__ import annotations

import pytest

from runner.engine.imageref import ImageRef, ImageRefError, is_image_id, why_not
from runner.engine.podman import ImageUnavailable
from runner.execute.images import parse_images

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("text", [
    "alpine", "alpine:3.19", "library/alpine", "docker.io/library/alpine:latest",
    "registry.example.com/group/sub/image:v1.2-rc_3", "reg:5000/x", "localhost/busybox:latest",
    "[::1]:5000/team/app", f"alpine@{DIGEST}", f"quay.io/x/y:1@{DIGEST}", "a__b.c-d---e/f",
    "0123456789ab", "0123456789abcdef" * 4, DIGEST, "REG.Example.com/lower:TAG",
])
def test_references_of_the_grammar_are_kept_as_written(text: str) -> None:
    ref = ImageRef(text)
    assert ref == text and isinstance(ref, ImageRef)


@pytest.mark.parametrize("text", [
    "", "-", "-x", "--volume=/:/h", "--label=x.y/z", "Alpine", "team/App", "a b", "a\nb",
    "alpine:", "alpine:-x", ":tag", "/alpine", "alpine/", "a//b", "alpine@sha256:abc",
    "alpine@" + "0" * 64, "a:b:c", "docker://alpine", "a" * 256,
])
def test_anything_else_is_refused_with_the_reason(text: str) -> None:
    assert why_not(text) is not None
    with pytest.raises(ImageRefError, match="image"):
        ImageRef(text)


def test_the_name_length_limit_is_the_grammars() -> None:
    """distribution/reference: the name (registry and path) at most 255 characters."""
    assert why_not("a" * 255 + ":tag") is None
    assert why_not("a" * 256) == f"the image name in '{'a' * 256}' is longer than 255 characters"


def test_image_ids() -> None:
    assert is_image_id(DIGEST) and is_image_id(DIGEST[7:])
    assert not is_image_id("sha256:xyz") and not is_image_id("alpine")


def test_qualified_stays_an_image_ref() -> None:
    qualified = ImageRef("alpine").qualified()
    assert qualified == "docker.io/library/alpine" and isinstance(qualified, ImageRef)
    assert ImageRef(DIGEST).qualified() == DIGEST


def test_derived_strings_lose_the_type() -> None:
    """What string operations make of a reference is not known to be one any more."""
    ref = ImageRef("alpine")
    assert type(ref + " --privileged") is str and type(ref[1:]) is str


def test_a_coordinators_bad_name_fails_the_job_as_an_unavailable_image() -> None:
    """The executor's one parse: job and service images, qualified; a bad one fails the job."""
    job, services = parse_images("alpine", False, ["postgres:16", "localhost/x"])
    assert (job, services) == ("docker.io/library/alpine",
                               ("docker.io/library/postgres:16", "localhost/x"))
    assert parse_images(DIGEST, True, [])[0] == DIGEST
    for image, service in (("--volume=/:/h", "redis"), ("alpine", "--label=x.y/z")):
        with pytest.raises(ImageUnavailable, match="is not an image reference"):
            parse_images(image, False, [service])
