"""Job services end to end: one pod per job, aliases, variables, readiness, UID slice, removal.

Every service here is busybox's ``httpd`` serving files its own command
wrote, so what the job fetches shows what the service saw.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner.engine.argv import LABEL_RUN
from tests.integration.harness import (
    Project,
    job_results,
    new_project,
    said,
    wait_for_line,
)

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"
PODMAN_TIMEOUT = 60


def serve(files: str, port: int = 8080) -> str:
    """A service ``command`` (YAML flow list) that runs shell ``files`` in /srv, then httpd."""
    script = f"mkdir -p /srv && cd /srv && {files} && exec httpd -f -p {port} -h /srv"
    return json.dumps(["sh", "-c", script])


def podman_lines(*args: str) -> list[str]:
    done = subprocess.run(["podman", *args], capture_output=True, text=True,
                          timeout=PODMAN_TIMEOUT, check=True)
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def pods_of(run_id: str) -> list[str]:
    """Names of the pods labelled with run ``run_id``."""
    return podman_lines("pod", "ps", "--filter", f"label={LABEL_RUN}={run_id}",
                        "--format", "{{.Name}}")


def containers_of(run_id: str) -> list[str]:
    """Containers of run ``run_id``: labelled ones, and any (infra too) in one of its pods."""
    labelled = podman_lines("ps", "--all", "--external", "--filter",
                            f"label={LABEL_RUN}={run_id}", "--format", "{{.Names}}")
    in_pods = [line.split("|")[0] for line in podman_lines(
        "ps", "--all", "--external", "--pod", "--format", "{{.Names}}|{{.PodName}}")
        if line.split("|")[1].startswith(f"runner-{run_id}-")]
    return sorted({*labelled, *in_pods})


def assert_nothing_left(run_id: str) -> None:
    assert pods_of(run_id) == []
    assert containers_of(run_id) == []


def run_id_of(project: Project) -> str:
    """The id of the project's last finished run."""
    doc = json.loads((project.state / "result.json").read_text())
    return str(doc["run_id"])


def running_run_id(project: Project) -> str:
    """The id of the run in progress (the name of its scratch dir)."""
    work = project.state / "work"
    dirs = [entry.name for entry in work.iterdir() if entry.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def seen_at(proc: subprocess.Popen[str], needle: str) -> float:
    """When (monotonic) a line containing ``needle`` came from ``proc``."""
    wait_for_line(proc, needle)
    return time.monotonic()


def test_service_reachable_on_localhost_and_every_alias(project: Project) -> None:
    """Written aliases and the image-derived ones all reach the service; readiness is logged."""
    project.write(f"""
        version: 1
        jobs:
          web:
            image: {IMAGE}
            services:
              - image: {IMAGE}
                alias: [web, api.internal]
                command: {serve("echo served-by-service > index.html")}
                ports: [8080]
              - {IMAGE}
            script:
              - >-
                for host in localhost web api.internal localhost__busybox localhost-busybox;
                do echo "$host=$(wget -qO- http://$host:8080/)"; done
        """)
    run = project.run()
    assert run.code == 0, run.out + run.err
    for host in ("localhost", "web", "api.internal", "localhost__busybox", "localhost-busybox"):
        assert said(run.out, "web", f"{host}=served-by-service"), run.out
    log = project.log("web")
    assert re.search(rf"^runner: service {re.escape(IMAGE)} ready on port 8080 after "
                     r"\d+\.\d\ds$", log, re.MULTILINE), log
    # The second (string form) service runs busybox's default shell, which exits at once.
    assert (f"runner: service {IMAGE} exposes no port; not waiting for it "
            "(give it 'ports' to wait)") in log
    assert log.index("ready on port 8080") < log.index("$ for host in")
    assert_nothing_left(run_id_of(project))


def _same_alias_pipeline(names: dict[str, str]) -> str:
    """One job per (name, content): each has a service 'web' on 8080 serving its content."""
    jobs = "".join(f"""
  {name}:
    services:
      - image: {IMAGE}
        alias: web
        command: {serve(f"echo {content} > index.html")}
        ports: [8080]
    script:
      - echo {name}-start
      - sleep 3
      - echo "{name} got=$(wget -qO- http://web:8080/)"
      - sleep 3
      - echo {name}-end
""" for name, content in names.items())
    return f"version: 1\nimage: {IMAGE}\njobs:{jobs}"


def test_same_alias_and_port_in_concurrent_jobs_stay_apart(project: Project,
                                                           tmp_path: Path) -> None:
    """Two jobs at once, each with its own 'web' on 8080: each reaches only its own.

    Then the same across two ``runner exec`` runs at once, in two projects.
    """
    project.write(_same_alias_pipeline({"a": "content-a", "b": "content-b"}))
    run = project.run("-j", "2")
    assert run.code == 0, run.out + run.err
    lines = run.out.splitlines()

    def at(job: str, text: str) -> int:
        return next(i for i, line in enumerate(lines) if re.match(rf"{job}\s*\| {text}", line))

    assert said(run.out, "a", "a got=content-a")
    assert said(run.out, "b", "b got=content-b")
    # Each fetch happened while the other job (and so its service) was running.
    assert at("b", "b-start") < at("a", "a got=") < at("b", "b-end")
    assert at("a", "a-start") < at("b", "b got=") < at("a", "a-end")
    assert_nothing_left(run_id_of(project))

    other = new_project(tmp_path / "other", project.cache)
    project.write(_same_alias_pipeline({"one": "content-one"}))
    other.write(_same_alias_pipeline({"two": "content-two"}))
    with project.start() as first, other.start() as second, ThreadPoolExecutor(2) as pool:
        started = [pool.submit(seen_at, first, "one-start"), pool.submit(seen_at, second,
                                                                           "two-start")]
        gap = abs(started[0].result() - started[1].result())
        out_one, err_one = first.communicate(timeout=120)
        out_two, err_two = second.communicate(timeout=120)
    # Each fetch (3 s after its start line) fell inside the other run's job (6 s long).
    assert gap < 2.5, f"the runs did not overlap (starts {gap:.1f}s apart); nothing proved"
    assert first.returncode == 0, out_one + err_one
    assert second.returncode == 0, out_two + err_two
    assert said(out_one, "one", "one got=content-one")
    assert said(out_two, "two", "two got=content-two")
    assert_nothing_left(run_id_of(project))
    assert_nothing_left(run_id_of(other))
    work = other.state / "work"
    assert not work.exists() or list(work.iterdir()) == []


PS_CGI = (r'mkdir cgi-bin && printf "#!/bin/sh\necho Content-Type: text/plain\necho\n'
          r'ps -o pid,args\n" > cgi-bin/ps && chmod +x cgi-bin/ps')
"""Shell lines that make httpd serve the service's process list at /cgi-bin/ps."""


def test_service_gets_plain_variables_never_secrets(project: Project) -> None:
    """Own variables (winning over the job's), the job's plain and predefined ones; no secret.

    Nor can the service see the job's processes (the pod shares no PID namespace), whose
    environments hold the secret: both run in the same UID slice.
    """
    value = "s3cr3t-for-the-job-only"
    written = "$OWN $JOB_VAR $SHARED $CI_JOB_NAME ${TOKEN:-unset}"
    project.write(f"""
        version: 1
        secrets:
          TOKEN: {{env: SERVICE_TEST_TOKEN}}
        jobs:
          vars:
            image: {IMAGE}
            variables: {{JOB_VAR: from-job, SHARED: job-value}}
            secrets: [TOKEN]
            services:
              - image: {IMAGE}
                alias: svc
                variables: {{OWN: from-service, SHARED: service-value}}
                command: {serve(f'echo "{written}" > vars && env > env && {PS_CGI}')}
                ports: [8080]
            script:
              - sleep 4321 &
              - wget -qO- http://svc:8080/cgi-bin/ps | sed 's/^/service-ps /'
              - echo "vars=$(wget -qO- http://svc:8080/vars)"
              - wget -qO- http://svc:8080/env > service.env
              - echo "token-lines=$(grep -c '^TOKEN=' service.env)"
              - grep -qF "$TOKEN" service.env && echo secret-leaked || echo secret-absent
              - echo "job-token-length=${{#TOKEN}}"
        """)
    run = project.run(SERVICE_TEST_TOKEN=value)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "vars", "vars=from-service from-job service-value vars unset")
    assert said(run.out, "vars", "token-lines=0")
    assert said(run.out, "vars", "secret-absent")
    assert said(run.out, "vars", f"job-token-length={len(value)}")  # the job did have it
    seen = re.findall(r"^vars\s*\| service-ps (.*)$", run.out, re.MULTILINE)
    assert any("httpd -f -p 8080" in line for line in seen), run.out
    assert not any("4321" in line or "script.sh" in line for line in seen), seen
    for text in (run.out, run.err, project.log("vars")):
        assert value not in text
    assert_nothing_left(run_id_of(project))


def test_service_never_listening_warns_and_job_runs(project: Project) -> None:
    """After 30 s of no listener: a warning with the service's output, then the script, exit 0."""
    project.write(f"""
        version: 1
        jobs:
          patient:
            image: {IMAGE}
            timeout: 8s
            services:
              - image: {IMAGE}
                command: [sh, -c, "echo SERVICE-MARKER-OUT; echo SERVICE-MARKER-ERR >&2; sleep 300"]
                ports: [9999]
            script: ["echo script-ran"]
        """)
    run = project.run(timeout=150)
    assert run.code == 0, run.out + run.err
    assert said(run.out, "patient", "script-ran")
    log = project.log("patient")
    warning = (f"runner: warning: service {IMAGE} was not listening on port 9999 (after 8s; "
               "container running 0); the job runs anyway. The service's last output:")
    assert warning in log, log
    assert "\n  SERVICE-MARKER-OUT\n" in log
    assert "\n  SERVICE-MARKER-ERR\n" in log
    assert log.index(warning) < log.index("$ echo script-ran")
    assert "ready on port" not in log
    assert_nothing_left(run_id_of(project))


def test_service_that_exits_is_reported_at_once(project: Project) -> None:
    """A service that dies is not waited for until the timeout: its exit and output are shown."""
    project.write(f"""
        version: 1
        jobs:
          quick:
            image: {IMAGE}
            services:
              - image: {IMAGE}
                command: [sh, -c, "echo SERVICE-DIED-HERE; exit 3"]
                ports: [9999]
            script: ["echo script-ran"]
        """)
    run = project.run(timeout=150)
    assert run.code == 0, run.out + run.err
    log = project.log("quick")
    assert (f"runner: warning: service {IMAGE} was not listening on port 9999 (it exited; "
            "container exited 3)") in log, log
    assert "\n  SERVICE-DIED-HERE\n" in log  # "it exited", not "after 30s": no long wait
    assert_nothing_left(run_id_of(project))


def test_job_and_services_share_one_uid_slice(project: Project) -> None:
    """The job's and the service's uid/gid maps are the same 65536-id slice, not the full range."""
    project.write(f"""
        version: 1
        jobs:
          maps:
            image: {IMAGE}
            services:
              - image: {IMAGE}
                alias: svc
                command: {serve("cat /proc/self/uid_map > uid && cat /proc/self/gid_map > gid")}
                ports: [8080]
            script:
              - echo job-uid=$(cat /proc/self/uid_map)
              - echo svc-uid=$(wget -qO- http://svc:8080/uid)
              - echo job-gid=$(cat /proc/self/gid_map)
              - echo svc-gid=$(wget -qO- http://svc:8080/gid)
        """)
    run = project.run()
    assert run.code == 0, run.out + run.err
    maps = dict(re.findall(r"^maps\s*\| (\w+-[ug]id)=(.*)$", run.out, re.MULTILINE))
    assert maps["job-uid"] == maps["svc-uid"]
    assert maps["job-gid"] == maps["svc-gid"] == maps["job-uid"]
    inside, base, size = (int(word) for word in maps["job-uid"].split())
    assert (inside, size) == (0, 65536)
    assert base % 65536 == 1  # a slot's slice: 1 + k * 65536 in podman's namespace
    full = podman_lines("unshare", "cat", "/proc/self/uid_map")
    total = sum(int(line.split()[2]) for line in full)
    assert total > size  # the user's whole range is bigger than what the pod got
    assert_nothing_left(run_id_of(project))


ENDINGS = {
    # name: (job settings, script, exit code, status)
    "success": ("", '["echo svc-running", "sleep 3"]', 0, "success"),
    "failure": ("", '["echo svc-running", "sleep 3", "exit 3"]', 1, "failed"),
    "timeout": ("timeout: 4s", '["echo svc-running", "sleep 60"]', 1, "timed out"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_pod_removed_when_the_job_ends(project: Project, ending: str) -> None:
    """The pod exists while the job runs and is gone once it ends, before the run ends."""
    settings, script, code, status = ENDINGS[ending]
    project.write(f"""
        version: 1
        image: {IMAGE}
        jobs:
          svc:
            {settings}
            services:
              - image: {IMAGE}
                alias: web
                command: {serve("echo hi > index.html")}
                ports: [8080]
            script: {script}
          later:
            needs: [svc]
            when: always
            script: ["echo later-running", "sleep 10"]
        """)
    with project.start() as proc:
        wait_for_line(proc, "svc-running")
        run_id = running_run_id(project)
        pod = f"runner-{run_id}-svc-1-pod"
        assert pods_of(run_id) == [pod]
        assert f"{pod}-svc0" in containers_of(run_id)
        wait_for_line(proc, "later-running")
        deadline = time.monotonic() + 8
        while pods_of(run_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before the pod was checked"
        assert pods_of(run_id) == []
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert job_results(project)["svc"]["status"] == status
    assert_nothing_left(run_id)


def test_pod_removed_after_ctrl_c(project: Project) -> None:
    """Ctrl-C during a job with a service: exit 130 and neither pod nor container stays."""
    project.write(f"""
        version: 1
        jobs:
          svc:
            image: {IMAGE}
            services:
              - image: {IMAGE}
                command: {serve("echo hi > index.html")}
                ports: [8080]
            script: ["echo svc-running", "sleep 60"]
        """)
    with project.start() as proc:
        wait_for_line(proc, "svc-running")
        run_id = running_run_id(project)
        assert pods_of(run_id) == [f"runner-{run_id}-svc-1-pod"]
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert job_results(project)["svc"]["status"] == "canceled"
    assert_nothing_left(run_id)


def test_next_run_removes_pod_of_a_crashed_run(project: Project) -> None:
    """A SIGKILLed run leaves its pod (the service runs on); the next run removes it (the job
    that leases the same uid slice first, else the end-of-run sweep) and says so."""
    project.write(f"""
        version: 1
        jobs:
          nap:
            image: {IMAGE}
            services:
              - image: {IMAGE}
                command: {serve("echo hi > index.html")}
                ports: [8080]
            script: ["echo napping", "sleep 2"]
        """)
    with project.start() as proc:
        wait_for_line(proc, "napping")
        run_id = running_run_id(project)
        proc.kill()
        proc.communicate(timeout=30)
    pod = f"runner-{run_id}-nap-1-pod"
    job_container = f"runner-{run_id}-nap-1"
    deadline = time.monotonic() + 60  # the orphaned job container ends with its script
    while job_container in containers_of(run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job_container not in containers_of(run_id)
    assert pods_of(run_id) == [pod]
    assert f"{pod}-svc0" in containers_of(run_id)  # nothing ends a service on its own
    run = project.run()
    assert run.code == 0, run.out + run.err
    assert f"removed scratch files left by crashed run {run_id}" in run.err
    # Whichever comes first removes it and says so: the next holder of the pod's uid slice
    # (before its own containers start), or the sweep at the end of the run.
    said_removed = (f"removed pod {pod} left by crashed run {run_id}" in run.err
                    or f"runner: removed pod {pod}, left on this job's uid slice" in
                    project.log("nap"))
    assert said_removed, run.err + project.log("nap")
    assert_nothing_left(run_id)
    assert_nothing_left(run_id_of(project))


PARSE_ERRORS = {
    "bad-port": ("{image: IMAGE, ports: [70000]}", 9, 51, "jobs.j.services[1].ports[0]",
                 "an item of 'ports' of a service of 'services' of job 'j' must be a port"
                 " number from 1 to 65535"),
    "bad-alias": ("{image: IMAGE, alias: [db, 'not a host']}", 9, 55,
                  "jobs.j.services[1].alias[1]",
                  "alias 'not a host' of a service of 'services' of job 'j' is not a valid"
                  " host name"),
    "unknown-key": ("{image: IMAGE, port: [5432]}", 9, 43, "jobs.j.services[1].port",
                    "unknown key 'port' in a service of 'services' of job 'j'; did you mean"
                    " 'ports'?"),
}


@pytest.mark.parametrize("case", list(PARSE_ERRORS))
def test_services_mistakes_are_parse_errors(project: Project, case: str) -> None:
    """A mistake in 'services' stops the run before anything starts: file:line:column, key, 2."""
    item, line, column, key, message = PARSE_ERRORS[case]
    project.write(f"""
        version: 1
        jobs:
          j:
            image: {IMAGE}
            script: ["echo should-not-run"]
            services:
              - {IMAGE}
              - {item.replace("IMAGE", IMAGE)}
        """)
    run = project.run()
    assert run.code == 2, run.out + run.err
    assert f"pipeline.yml:{line}:{column} (key '{key}'): {message}" in run.err, run.err
    assert "should-not-run" not in run.out
    assert "Traceback" not in run.err
