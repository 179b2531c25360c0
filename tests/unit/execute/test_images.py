"""Which store a job runs from: a tenant's access to a registry keeps its images its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runner.engine.argv import StoreSpec
from runner.engine.buildah import Finished
from runner.engine.imageref import ImageRef
from runner.engine.podman import ImageUnavailable
from runner.execute import images
from runner.execute.images import (
    Fetcher,
    ImagePlan,
    explain_pull,
    image_policies,
    plan_images,
    tenant_hosts,
)
from runner.execute.services import _marker_text, _read_marker
from runner.pipeline.model import Job, Registry, Service

TENANT = StoreSpec(Path("/d/builds/t1"), Path("/run/builds/t1"))
PRIVATE = frozenset({"reg.example:5000"})


def test_public_images_run_from_the_users_store() -> None:
    """Nothing of the tenant's own access is involved: podman pulls as it runs, as before."""
    plan = plan_images("docker.io/library/alpine", None, ["docker.io/library/postgres:16"],
                       TENANT, PRIVATE)
    assert plan == ImagePlan(None)


def test_an_image_pulled_with_the_tenants_access_moves_the_whole_job() -> None:
    """A private service puts the pod, the job image and every service in the tenant store."""
    plan = plan_images("localhost/busybox:latest", None,
                       ["reg.example:5000/team/db:1", "localhost/busybox:latest"], TENANT,
                       PRIVATE)
    assert plan == ImagePlan(TENANT, ("localhost/busybox:latest", "reg.example:5000/team/db:1"),
                             frozenset({"reg.example:5000/team/db:1"}))


def test_a_built_image_runs_from_its_own_store_with_its_services() -> None:
    """The built image is already there (by id); only services are fetched."""
    plan = plan_images("sha256:abc", TENANT, ["docker.io/library/redis:7"], TENANT, PRIVATE)
    assert plan == ImagePlan(TENANT, ("docker.io/library/redis:7",), frozenset())


def test_shared_storage_keeps_everything_in_the_users_store() -> None:
    """``--build-storage shared`` is the user's explicit choice: no tenant stores at all, but
    images that need the pipeline's access are still fetched with it (podman would not)."""
    private = frozenset({"reg.example:5000/app"})
    assert plan_images("reg.example:5000/app", None, ["docker.io/library/redis:7"], None,
                       PRIVATE) == ImagePlan(None, ("reg.example:5000/app",), private)
    assert plan_images("sha256:abc", None, [], None, PRIVATE) == ImagePlan(None)


def test_image_ids_are_never_fetched() -> None:
    """An id names a local image: no registry's access applies, whatever the hosts."""
    everything = frozenset({"docker.io"})
    ident = "a" * 64
    assert plan_images(ident, None, [], TENANT, everything) == ImagePlan(None)
    assert plan_images("sha256:" + ident, None, [], TENANT, everything) == ImagePlan(None)


def test_tenant_hosts_are_every_listed_registry() -> None:
    """A CA or ``insecure`` is the tenant's trust decision as much as credentials are."""
    registries = [Registry("a.example", username="u", password_secret="s"),
                  Registry("b.example", insecure=True), Registry("c.example",
                                                                 ca_file=Path("/ca.pem"))]
    assert tenant_hosts(registries) == {"a.example", "b.example", "c.example"}


def test_pull_failures_say_what_to_fix() -> None:
    denied = explain_pull("reg.example:5000/app:1", "Trying to pull...\nError: initializing "
                          "source: reading manifest 1: unauthorized: authentication required\n")
    assert denied.startswith("image reg.example:5000/app:1 could not be pulled: Error: ")
    assert "give the pipeline credentials for reg.example:5000" in denied
    tls = explain_pull("reg.example/app", "x509: certificate signed by unknown authority")
    assert "give reg.example a 'ca_file'" in tls


def test_slice_markers_name_the_pods_store() -> None:
    """The next holder of a slice must find a dead job's pod in whichever store it was."""
    assert _read_marker(_marker_text("p1", TENANT)) == ("p1", TENANT)
    assert _read_marker(_marker_text("p1", None)) == ("p1", None)
    assert _read_marker("runner-old-pod") == ("runner-old-pod", None)  # older runners
    assert _read_marker("{broken") == ("", None)


class FakeBuildah:
    """Stands in for the buildah seam: which stores hold which images, and what was asked."""

    def __init__(self, tenant: set[str], user: set[str], down: frozenset[str] = frozenset()
                 ) -> None:
        self.held = {TENANT: tenant, USER: user}
        self.calls: list[str] = []
        self.down = down
        """Images whose registry cannot be reached: their pulls fail."""

    async def has_image(self, ref: str, store: StoreSpec) -> bool:
        return ref in self.held[store]

    async def default_store(self) -> StoreSpec:
        return USER

    async def copy_in(self, ref: str, source: StoreSpec, store: StoreSpec) -> Finished:
        self.calls.append(f"copy {ref}")
        return Finished(0, ())

    async def run(self, argv: list[str], sink: object = None) -> Finished:
        self.calls.append(f"pull {argv[-1]} auth={'--authfile' in argv}")
        if argv[-1].removeprefix("docker://") in self.down:
            return Finished(125, ("Error: pinging container registry: connection refused",))
        return Finished(0, ())


USER = StoreSpec(Path("/home/u/.local/share/containers/storage"), Path("/run/user/1/c"))
LOCAL, PUBLIC, SECRET = ("localhost/busybox:latest", "docker.io/library/redis:7",
                         "reg.example:5000/team/db:1")
PLAN = ImagePlan(TENANT, (LOCAL, PUBLIC, SECRET), frozenset({SECRET}))


@pytest.mark.parametrize(("policy", "tenant", "user", "calls"), [
    # Missing only: what the user has is copied; the private one always comes from its registry.
    ("missing", set(), {LOCAL, PUBLIC, SECRET},
     [f"copy {LOCAL}", f"copy {PUBLIC}", f"pull docker://{SECRET} auth=True"]),
    ("missing", {LOCAL, PUBLIC, SECRET}, set(), []),
    # Missing in the tenant's store: a public image is pulled, a local one copied.
    ("missing", {SECRET}, {LOCAL}, [f"copy {LOCAL}", f"pull docker://{PUBLIC} auth=True"]),
    # Always: every registry image again; a localhost image has no registry to ask.
    ("always", {LOCAL, PUBLIC, SECRET}, {LOCAL}, [f"pull docker://{PUBLIC} auth=True",
                                                  f"pull docker://{SECRET} auth=True"]),
    ("never", {LOCAL, PUBLIC, SECRET}, set(), []),
    # Never: what the user's store has is copied (no registry is asked).
    ("never", {SECRET}, {LOCAL, PUBLIC}, [f"copy {LOCAL}", f"copy {PUBLIC}"]),
])
def test_fetch_copies_what_the_user_has_and_pulls_the_rest(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, policy: str, tenant: set[str],
        user: set[str], calls: list[str]) -> None:
    """Which images are copied from the user's store and which are pulled, by policy."""
    fake = FakeBuildah(tenant, user)
    for name in ("has_image", "default_store", "copy_in", "run"):
        monkeypatch.setattr(images.buildah, name, getattr(fake, name))
    fetcher = Fetcher((Registry("reg.example:5000", username="u", password_secret="pw"),),
                      {"pw": "a-long-password"}, None, policy)
    notices: list[str] = []
    asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, notices.append))
    assert fake.calls == calls
    authfiles = sorted((tmp_path / "registry").glob("*/auth.json"))
    assert len(authfiles) == sum(call.startswith("pull") for call in calls)  # one per pull
    for authfile in authfiles:  # credentials only ever in a 0600 file
        assert authfile.stat().st_mode & 0o777 == 0o600
        assert "reg.example:5000" in authfile.read_text()


def test_a_local_image_missing_everywhere_is_never_pulled(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """There is no registry for ``localhost/``: the job fails saying how to make the image."""
    fake = FakeBuildah({SECRET}, set())
    for name in ("has_image", "default_store", "copy_in", "run"):
        monkeypatch.setattr(images.buildah, name, getattr(fake, name))
    fetcher = Fetcher((), {}, None)
    with pytest.raises(ImageUnavailable) as caught:
        asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, lambda _t: None))
    assert str(caught.value).startswith(f"image {LOCAL} not found in your store; build or "
                                        f"pull it: `runner build -t {LOCAL} DIR`")
    assert not any(call.startswith("pull") for call in fake.calls)


def test_local_images_of_the_users_store_are_checked_before_the_job_starts(
        tmp_path: Path) -> None:
    """podman would ping a registry for a missing one and fail seconds later, unclearly."""
    plan = plan_images(LOCAL, None, ["localhost/db:1", PUBLIC], None, PRIVATE)
    assert plan == ImagePlan(None, local=(LOCAL, "localhost/db:1"))
    asked: list[str] = []

    async def present(ref: str) -> bool:
        asked.append(ref)
        return ref == LOCAL

    fetcher = Fetcher((), {}, None, "never")
    with pytest.raises(ImageUnavailable, match="image localhost/db:1 not found in your store"):
        asyncio.run(fetcher.fetch(plan, tmp_path / "registry", lambda _b: None,
                                  lambda _t: None, present))
    assert asked == [LOCAL, "localhost/db:1"]


def test_shared_storage_fetches_private_images_into_the_users_store(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeBuildah(set(), set())
    for name in ("has_image", "default_store", "copy_in", "run"):
        monkeypatch.setattr(images.buildah, name, getattr(fake, name))
    argvs: list[list[str]] = []

    async def run(argv: list[str], sink: object = None) -> Finished:
        argvs.append(argv)
        return Finished(0, ())

    monkeypatch.setattr(images.buildah, "run", run)
    fetcher = Fetcher((Registry("reg.example:5000", username="u", password_secret="pw"),),
                      {"pw": "a-long-password"}, None)
    notices: list[str] = []
    plan = ImagePlan(None, (SECRET,), frozenset({SECRET}))
    asyncio.run(fetcher.fetch(plan, tmp_path / "registry", lambda _b: None, notices.append))
    assert [argv[:2] + argv[-1:] for argv in argvs] == [["buildah", "pull",
                                                         f"docker://{SECRET}"]]
    assert notices == [f"runner: pulling image {SECRET} into the user's image store"]


def test_recheck_asks_the_registry_for_private_images_the_store_has(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The agent's mode: a copy pulled with one user's token does not stand in for another's."""
    fake = FakeBuildah({LOCAL, PUBLIC, SECRET}, set())
    for name in ("has_image", "default_store", "copy_in", "run"):
        monkeypatch.setattr(images.buildah, name, getattr(fake, name))
    fetcher = Fetcher((Registry("reg.example:5000", username="u", password_secret="pw"),),
                      {"pw": "a-long-password"}, None, recheck_private=True)
    asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, lambda _t: None))
    assert fake.calls == [f"pull docker://{SECRET} auth=True"]



def _fake(monkeypatch: pytest.MonkeyPatch, fake: FakeBuildah) -> None:
    for name in ("has_image", "default_store", "copy_in", "run"):
        monkeypatch.setattr(images.buildah, name, getattr(fake, name))


def test_never_with_the_image_missing_fails_saying_so(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    fake = FakeBuildah({LOCAL, SECRET}, set())
    _fake(monkeypatch, fake)
    fetcher = Fetcher((), {}, None, ("never",))
    with pytest.raises(ImageUnavailable, match=f"image {PUBLIC} is not in the image store and "
                       "its pull policy is 'never'"):
        asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, lambda _t: None))
    assert not any(call.startswith("pull") for call in fake.calls)


def test_a_policy_list_falls_back_in_order(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """gitlab-runner's ``[always, if-not-present]``: the registry is down, the copy is used."""
    fake = FakeBuildah({LOCAL, PUBLIC, SECRET}, set(), down=frozenset({PUBLIC}))
    _fake(monkeypatch, fake)
    notices: list[str] = []
    fetcher = Fetcher((), {}, None, ("always", "if-not-present"))
    asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, notices.append))
    assert fake.calls == [f"pull docker://{PUBLIC} auth=False",
                          f"pull docker://{SECRET} auth=False"]
    assert any(f"image {PUBLIC} could not be pulled" in n and "pull policy 'if-not-present' "
               "(next in the list) got the image" in n for n in notices), notices


def test_the_last_policy_of_a_list_failing_fails_the_fetch(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    fake = FakeBuildah({LOCAL, SECRET}, set(), down=frozenset({PUBLIC}))
    _fake(monkeypatch, fake)
    fetcher = Fetcher((), {}, None, ("always", "if-not-present"))
    with pytest.raises(ImageUnavailable, match=f"image {PUBLIC} could not be pulled"):
        asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, lambda _t: None))


def test_each_image_keeps_its_own_policy(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    """A service's ``pull_policy: if-not-present`` is not pulled under a default of always."""
    fake = FakeBuildah({LOCAL, PUBLIC, SECRET}, set())
    _fake(monkeypatch, fake)
    fetcher = Fetcher((), {}, None, ("always",),
                      policies={ImageRef(PUBLIC): ("if-not-present",)})
    asyncio.run(fetcher.fetch(PLAN, tmp_path / "registry", lambda _b: None, lambda _t: None))
    assert fake.calls == [f"pull docker://{SECRET} auth=False"]


def test_policies_come_from_the_job_and_its_services_else_the_default() -> None:
    job = Job("j", "alpine", ("true",), pull_policy=("never",),
              services=(Service("redis:7", pull_policy=("always", "missing")), Service("pg")))
    got = image_policies(job, ImageRef("docker.io/library/alpine"),
                         [ImageRef("docker.io/library/redis:7"), ImageRef("docker.io/library/pg")],
                         ("missing",))
    assert got == {"docker.io/library/alpine": ("never",),
                   "docker.io/library/redis:7": ("always", "if-not-present"),
                   "docker.io/library/pg": ("if-not-present",)}


def test_checked_public_images_are_fetched_before_the_job_in_the_users_store() -> None:
    """``always`` or ``never`` on a public image: the fetcher decides, not podman's --pull."""
    plan = plan_images(ImageRef("docker.io/library/alpine"), None,
                       [ImageRef(LOCAL)], None, PRIVATE,
                       policies={ImageRef("docker.io/library/alpine"): ("always",),
                                 ImageRef(LOCAL): ("never",)})
    assert plan == ImagePlan(None, ("docker.io/library/alpine",), frozenset(), (LOCAL,))
