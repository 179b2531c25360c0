# ruff: noqa: E501 - job scripts are written as users write them, one command a line
"""Docker-in-Docker jobs end to end: the Debian docker CLI in a job, against its own API.

Each test runs a real ``runner exec`` of a ``.gitlab-ci.yml`` written the way
GitLab documents DinD (a ``docker:<version>-dind`` service, TLS on 2376 with
``DOCKER_TLS_CERTDIR``), with ``localhost/runner-docker:bookworm`` (docker.io
20.10 and docker-compose 1.29 from Debian) as the job image. The project
fixture then checks that no container of the run is left in any store.
"""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.integration.harness import Project, Tenants

pytestmark = pytest.mark.podman

DOCKER_IMAGE = "localhost/runner-docker:bookworm"
BUILD_HINT = "deploy/job-images.sh (as root)"
TIMEOUT = 600

TLS_HEADER = f"""
variables:
  DOCKER_HOST: tcp://docker:2376
  DOCKER_TLS_CERTDIR: "/certs"
  DOCKER_TLS_VERIFY: 1
  DOCKER_CERT_PATH: "$DOCKER_TLS_CERTDIR/client"
default:
  image: {DOCKER_IMAGE}
  services:
    - docker:24.0.5-dind
"""


@pytest.fixture
def docker_image() -> str:
    """The job image with the docker CLI; skips (saying how to build it) when missing."""
    done = subprocess.run(["podman", "image", "exists", DOCKER_IMAGE], check=False, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"{DOCKER_IMAGE} missing; build it with: {BUILD_HINT}")
    return DOCKER_IMAGE


def run_gitlab(project: Project, jobs: str, **files: str) -> str:
    """Run ``.gitlab-ci.yml`` (TLS header + ``jobs``); the whole output."""
    (project.root / ".gitlab-ci.yml").write_text(TLS_HEADER + textwrap.dedent(jobs))
    for name, text in files.items():
        (project.root / name).parent.mkdir(parents=True, exist_ok=True)
        (project.root / name).write_text(text)
    done = project.run(".gitlab-ci.yml", timeout=TIMEOUT)
    return f"exit={done.code}\n{done.out}\n{done.err}"


DOCKERFILE = """\
FROM localhost/busybox:latest AS base
ARG GREETING=hello
RUN echo "$GREETING" > /greeting
FROM base AS final
RUN echo final > /stage
"""


def test_gitlab_tls_example_builds_runs_and_keeps_exit_codes(
        project: Project, tenants: Tenants, docker_image: str) -> None:
    tenants.add(project)
    out = run_gitlab(project, """
        build:
          script:
            - docker info --format 'server={{.ServerVersion}}'
            - docker version --format 'api={{.Server.APIVersion}}'
            - docker build --build-arg GREETING=bonjour -f build/Dockerfile --target base -t localhost/app:base .
            - docker run --rm localhost/app:base cat /greeting
            - docker build -f build/Dockerfile -t localhost/app:final .
            - docker run --rm localhost/app:final cat /stage
            - docker tag localhost/app:final localhost/app:again
            - docker images --format '{{.Repository}}:{{.Tag}}' | grep -x localhost/app:again
            - docker run --rm localhost/app:final sh -c 'exit 7' || echo "rm-exit=$?"
            - docker run localhost/app:final sh -c 'exit 5' || echo "plain-exit=$?"
            - docker rmi localhost/app:again
    """, **{"build/Dockerfile": DOCKERFILE})
    assert "exit=0" in out, out
    assert "server=4.3.1" in out and "api=1.41" in out
    assert "bonjour" in out and "final" in out
    assert "rm-exit=7" in out and "plain-exit=5" in out
    assert "Untagged: localhost/app:again" in out


def test_failing_run_step_fails_the_job(project: Project, tenants: Tenants,
                                        docker_image: str) -> None:
    tenants.add(project)
    out = run_gitlab(project, """
        build:
          script:
            - docker build -t localhost/broken:1 .
            - echo not-reached
    """, Dockerfile="FROM localhost/busybox:latest\nRUN exit 3\n")
    assert "exit=1" in out, out
    assert "not-reached" not in out.replace("echo not-reached", "")


def test_detached_exec_logs_stop_cp_workspace_volume_and_ports(
        project: Project, tenants: Tenants, docker_image: str) -> None:
    tenants.add(project)
    out = run_gitlab(project, """
        run:
          script:
            - mkdir -p site && echo from-workspace > site/index.html
            - docker run -d --name web -v $CI_PROJECT_DIR/site:/srv localhost/busybox:latest httpd -f -p 8080 -h /srv
            - docker exec web sh -c 'echo in-exec; exit 3' || echo "exec-exit=$?"
            - sleep 1; exec 3<>/dev/tcp/docker/8080; printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' >&3; tail -1 <&3
            - docker cp web:/srv/index.html copied.html && cat copied.html
            - echo into > into.txt && docker cp into.txt web:/tmp/into.txt && docker exec web cat /tmp/into.txt
            - docker logs web; docker stop -t 1 web && docker ps -a --format '{{.Names}} {{.Status}}'
            - docker rm web && docker ps -a -q | wc -l
    """)
    assert "exit=0" in out, out
    assert "in-exec" in out and "exec-exit=3" in out
    assert out.count("from-workspace") >= 3  # served, copied out, cat'ed
    assert "into" in out
    assert "Exited" in out


def test_network_of_two_containers_by_name_and_system_prune(
        project: Project, tenants: Tenants, docker_image: str) -> None:
    tenants.add(project)
    out = run_gitlab(project, """
        net:
          script:
            - docker network create appnet
            - docker run -d --network appnet --name db --network-alias database localhost/busybox:latest sh -c 'mkdir /w && echo db-says-hi > /w/x && httpd -f -p 8081 -h /w'
            - sleep 1
            - docker run --rm --network appnet localhost/busybox:latest wget -qO- http://db:8081/x
            - docker run --rm --network appnet localhost/busybox:latest wget -qO- http://database:8081/x
            - docker network ls --format '{{.Name}}' | grep -x appnet
            - docker rm -f db && docker network rm appnet
            - docker system prune -f
    """)
    assert "exit=0" in out, out
    assert out.count("db-says-hi") >= 2


def test_compose_v1_up_and_down(project: Project, tenants: Tenants, docker_image: str) -> None:
    tenants.add(project)
    out = run_gitlab(project, """
        compose:
          script:
            - docker-compose up -d
            - sleep 2
            - docker-compose ps
            - docker run --rm localhost/busybox:latest wget -qO- http://web:8082/x
            - docker-compose down
    """, **{"docker-compose.yml": textwrap.dedent("""\
        version: "3"
        services:
          web:
            image: localhost/busybox:latest
            command: ["sh", "-c", "mkdir /w && echo compose-web > /w/x && httpd -f -p 8082 -h /w"]
        """)})
    assert "exit=0" in out, out
    assert "compose-web" in out


def test_buildkit_gets_one_clear_message(project: Project, tenants: Tenants,
                                         docker_image: str) -> None:
    tenants.add(project)
    out = run_gitlab(project, """
        bk:
          script:
            - DOCKER_BUILDKIT=1 docker build -t localhost/bk:1 . || echo "buildkit-exit=$?"
            - echo "default=${DOCKER_BUILDKIT}"
    """, Dockerfile="FROM localhost/busybox:latest\n")
    assert "exit=0" in out, out
    assert "BuildKit is not available here" in out
    assert "buildkit-exit=1" in out
    assert "default=0" in out
