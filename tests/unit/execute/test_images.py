"""Which store a job runs from: a tenant's access to a registry keeps its images its own."""

from __future__ import annotations

from pathlib import Path

from runner.engine.argv import StoreSpec
from runner.execute.images import ImagePlan, explain_pull, plan_images, tenant_hosts
from runner.execute.services import _marker_text, _read_marker
from runner.pipeline.model import Registry

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
    """``--build-storage shared`` is the user's explicit choice: no tenant stores at all."""
    assert plan_images("reg.example:5000/app", None, [], None, PRIVATE) == ImagePlan(None)
    assert plan_images("sha256:abc", None, [], None, PRIVATE) == ImagePlan(None)


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
