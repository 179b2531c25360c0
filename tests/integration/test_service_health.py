"""Services with a health command (GitHub's ``options: --health-cmd``), on real rootless podman.

The pipelines are model objects run through ``model_exec`` (as ``runner exec``
runs them): the executor sees only ``Service.health``, whichever dialect set it.
"""

from __future__ import annotations

import json

import pytest

from runner.execute.layout import safe_name
from runner.pipeline.model import Health, Job, Service
from tests.integration.harness import Project
from tests.integration.test_exec_model_features import run_model
from tests.integration.test_services import assert_nothing_left, run_id_of

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def log_of(project: Project, name: str) -> str:
    return (project.state / "latest" / f"{safe_name(name)}.log").read_text()


def result_of(project: Project, name: str) -> dict[str, object]:
    doc = json.loads((project.state / "result.json").read_text())
    found: dict[str, object] = next(job for job in doc["jobs"] if job["name"] == name)
    return found


def test_job_waits_for_its_service_to_be_healthy(project: Project) -> None:
    """The job starts only once the health command succeeds: its one fetch, made at once,
    finds the server the service starts two seconds late (busybox exposes no port, so
    without the health command nothing would be waited for)."""
    late_server = ["sh", "-c", "sleep 2; mkdir -p /srv && echo SERVED-AFTER-HEALTH > /srv/x"
                   " && touch /tmp/ready && exec httpd -f -p 8080 -h /srv"]
    service = Service(IMAGE, aliases=("web",), command=tuple(late_server),
                      health=Health("test -f /tmp/ready && wget -q -O /dev/null"
                                    " http://127.0.0.1:8080/x", interval_s=1.0, retries=10))
    job = Job(name="uses web", image=IMAGE, script=("wget -q -O- http://web:8080/x",),
              services=(service,))
    run = run_model(project, [job])
    assert run.code == 0, run.out + run.err
    log = log_of(project, "uses web")
    assert "runner: web service is healthy after" in log
    assert "SERVED-AFTER-HEALTH" in log
    assert_nothing_left(run_id_of(project))


def test_a_service_that_never_gets_healthy_fails_the_job(project: Project) -> None:
    """docker's verdict after `retries` failures: GitHub's line, the command's last output and
    the service's own; no step runs and nothing is left behind."""
    service = Service(IMAGE, aliases=("db",),
                      command=("sh", "-c", "echo SERVICE-BOOT-LINE; sleep 600"),
                      health=Health("cat /tmp/never-there", interval_s=0.2, retries=2))
    job = Job(name="needs db", image=IMAGE, script=("echo STEP-RAN",), services=(service,))
    run = run_model(project, [job])
    assert run.code == 1, run.out + run.err
    log = log_of(project, "needs db")
    assert ("runner: Failed to initialize, db service is unhealthy: its health command"
            " `cat /tmp/never-there` failed 2 times in a row, 0.2s apart.") in log
    assert "can't open '/tmp/never-there'" in log
    assert "SERVICE-BOOT-LINE" in log
    assert "STEP-RAN" not in log
    assert result_of(project, "needs db")["status"] == "failed"
    assert_nothing_left(run_id_of(project))


def test_a_service_that_exits_is_unhealthy_at_once(project: Project) -> None:
    """A service whose container ended will never pass: the job fails without waiting for
    the retries (an hour of them here), saying it exited."""
    service = Service(IMAGE, aliases=("gone",), command=("sh", "-c", "echo BYE; exit 3"),
                      health=Health("true", interval_s=600.0, retries=6))
    job = Job(name="needs gone", image=IMAGE, script=("echo STEP-RAN",), services=(service,))
    run = run_model(project, [job])
    assert run.code == 1, run.out + run.err
    log = log_of(project, "needs gone")
    # podman's state then is "exited 3", or briefly another word for a container ending
    assert ("gone service is unhealthy: its health command `true` could not run:"
            " the service exited (") in log
    assert "BYE" in log
    assert "STEP-RAN" not in log
    assert_nothing_left(run_id_of(project))


def test_health_and_port_readiness_side_by_side(project: Project) -> None:
    """In one pod, a service with a health command and one waited for on its port: the job
    starts once both are ready and reaches each."""
    late = ["sh", "-c", "sleep 1; mkdir -p /srv && echo FROM-HEALTHY > /srv/x"
            " && exec httpd -f -p 8081 -h /srv"]
    listening = ["sh", "-c", "sleep 1; mkdir -p /srv && echo FROM-LISTENING > /srv/x"
                 " && exec httpd -f -p 8082 -h /srv"]
    job = Job(name="both", image=IMAGE, services=(
        Service(IMAGE, aliases=("checked",), command=tuple(late),
                health=Health("wget -q -O /dev/null http://127.0.0.1:8081/x", interval_s=1.0,
                              retries=10)),
        Service(IMAGE, aliases=("listening",), command=tuple(listening), ports=(8082,)),
    ), script=("wget -q -O- http://checked:8081/x", "wget -q -O- http://listening:8082/x"))
    run = run_model(project, [job])
    assert run.code == 0, run.out + run.err
    log = log_of(project, "both")
    assert "runner: checked service is healthy after" in log
    assert "runner: service localhost/busybox:latest ready on port 8082" in log
    assert "FROM-HEALTHY" in log
    assert "FROM-LISTENING" in log
