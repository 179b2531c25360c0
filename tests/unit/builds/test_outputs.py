"""Tests of runner.build.outputs: what later jobs see of a build job's image."""

from __future__ import annotations

from pathlib import Path

from runner.build.outputs import BuildOutput, job_image, substitute
from runner.engine.argv import StoreSpec

IID = "sha256:9098eb1002be6114fa1f6b5fc2dedca83ba0669a0ee42190d79f18312a4a2b98"
DIGEST = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
DIGEST2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
STORE = StoreSpec(Path("/home/u/.local/share/runner/builds/t1"),
                  Path("/run/user/1001/runner/builds/t1"))

BARE = BuildOutput(IID)
TAGGED = BuildOutput(IID, tags=("localhost/app:1", "localhost/app:latest"), store=STORE)
PUSHED = BuildOutput(
    IID, tags=("reg.example.com/app:1", "reg.example.com/app:latest"),
    pushed=(("reg.example.com/app:1", DIGEST), ("reg.example.com/app:latest", DIGEST2)),
    store=STORE,
)


def test_bare_output_is_its_image_id_everywhere() -> None:
    """Untagged, unpushed: image, digest and tag are all the image id."""
    assert (BARE.digest, BARE.reference) == (IID, IID)
    assert [BARE.field(f) for f in ("image", "digest", "tag")] == [IID, IID, IID]


def test_tagged_output() -> None:
    """Tagged, not pushed: the first tag names it; the digest is still the image id."""
    assert (TAGGED.digest, TAGGED.reference) == (IID, "localhost/app:1")
    assert [TAGGED.field(f) for f in ("image", "digest", "tag")] == [
        "localhost/app:1", IID, "localhost/app:1",
    ]


def test_pushed_output_is_tag_at_digest_of_the_first_push() -> None:
    """Pushed: ``image`` pins the first destination to its manifest digest."""
    assert PUSHED.digest == DIGEST
    assert PUSHED.reference == f"reg.example.com/app:1@{DIGEST}"
    assert [PUSHED.field(f) for f in ("image", "digest", "tag")] == [
        f"reg.example.com/app:1@{DIGEST}", DIGEST, "reg.example.com/app:1",
    ]


def test_substitute_every_reference() -> None:
    """Each ``${{ jobs.X.field }}`` is replaced, spacing inside the braces free."""
    outputs = {"img": PUSHED, "base.v2": TAGGED}
    text = ("IMG=${{ jobs.img.image }} D=${{jobs.img.digest}} "
            "T=${{   jobs.base.v2.tag   }} $HOME ${{ steps.x.y }}")
    assert substitute(text, outputs) == (
        f"IMG=reg.example.com/app:1@{DIGEST} D={DIGEST} T=localhost/app:1 $HOME"
        " ${{ steps.x.y }}"
    )


def test_substitute_leaves_other_text_alone() -> None:
    """Without references the text comes back unchanged (also ``${{ jobs.x.other }}``)."""
    text = "plain $VAR ${VAR} ${{ jobs.img.name }}"
    assert substitute(text, {"img": PUSHED}) == text


def test_substitute_leaves_a_reference_without_output_as_written() -> None:
    """A build job's own output (inherited from the top level) has no value yet: kept as is."""
    text = "${{ jobs.nosuch.image }} and ${{ jobs.img.digest }}"
    assert substitute(text, {"img": PUSHED}) == f"${{{{ jobs.nosuch.image }}}} and {PUSHED.digest}"


def test_job_image_build_output_runs_by_id_from_its_store() -> None:
    """A build output runs by image id from the store it was built in, pushed or not."""
    outputs = {"img": PUSHED, "local": TAGGED}
    assert job_image("${{ jobs.img.image }}", outputs) == (IID, STORE)
    assert job_image("  ${{jobs.local.image}}  ", outputs) == (IID, STORE)


def test_job_image_build_output_in_the_default_store() -> None:
    """A build in the shared default store runs from the default store (no store)."""
    assert job_image("${{ jobs.img.image }}", {"img": BARE}) == (IID, None)


def test_job_image_plain_image_runs_as_is() -> None:
    """A plain image runs as written from the user's default store."""
    assert job_image("localhost/busybox:latest", {"img": PUSHED}) == (
        "localhost/busybox:latest", None)
