"""Results a `.gitlab-ci.yml` gets from runner that must be GitLab's: real podman, real jobs.

Service readiness (``HEALTHCHECK_TCP_PORT``), what services see, where
``--variable`` and variables-file values rank against dotenv, and
``retry:exit_codes``, ``rules:changes`` with ``--compare-to``.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.integration.harness import Project, job_results, said

pytestmark = pytest.mark.podman

IMAGE = "localhost/busybox:latest"


def _write(project: Project, text: str) -> None:
    (project.root / ".gitlab-ci.yml").write_text(textwrap.dedent(text))


def _late_httpd(files: str, delay: int = 3) -> str:
    """A service command (flow list) that listens on 8080 only after ``delay`` seconds."""
    script = f"mkdir -p /srv && cd /srv && {files} && sleep {delay} && exec httpd -f -p 8080"
    return json.dumps(["sh", "-c", script])


def test_service_is_waited_for_on_its_healthcheck_port(project: Project) -> None:
    """busybox exposes no port: HEALTHCHECK_TCP_PORT tells runner which to wait for, as it
    tells gitlab-runner, so the job's first connection finds the service listening."""
    _write(project, f"""\
        image: {IMAGE}
        web:
          services:
            - name: {IMAGE}
              alias: late
              command: {_late_httpd("echo late-but-ready > index.html")}
              variables: {{HEALTHCHECK_TCP_PORT: "8080"}}
          script:
            - wget -qO- http://late:8080/
        """)
    run = project.run(".gitlab-ci.yml")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "web", "late-but-ready"), run.out
    assert f"runner: service {IMAGE} ready on port 8080 after" in project.log("web")


def test_services_get_only_public_variables(project: Project, tmp_path: Path) -> None:
    """A service sees the job's YAML variables, never a secret, a --variable or a
    variables-file value (gitlab-runner gives services public variables only)."""
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text("PROJECT_PLAIN: from-project-file\n"
                        "PROJECT_MASKED: {value: m4sked-pr0ject, masked: true}\n")
    _write(project, f"""\
        image: {IMAGE}
        dump:
          variables: {{FROM_YAML: yaml-value}}
          services:
            - name: {IMAGE}
              alias: envdump
              command: {_late_httpd("env > index.html", delay=0)}
              variables: {{HEALTHCHECK_TCP_PORT: "8080"}}
          script:
            - wget -qO- http://envdump:8080/ > seen.txt
            - grep -c FROM_YAML=yaml-value seen.txt
            - echo "cli=$(grep -c CLI_VAR seen.txt) secret=$(grep -c API_TOKEN seen.txt)"
            - echo "project=$(grep -c ^PROJECT_ seen.txt)"
            - echo "in-job=$CLI_VAR,$PROJECT_PLAIN"
        """)
    run = project.run(".gitlab-ci.yml", "--variable", "CLI_VAR=cli-value", "--secret",
                      "API_TOKEN", "--variables-file", str(varsfile),
                      API_TOKEN="t0ken-from-env")
    assert run.code == 0, run.out + run.err
    assert said(run.out, "dump", "cli=0 secret=0"), run.out
    assert said(run.out, "dump", "project=0"), run.out
    assert said(run.out, "dump", "in-job=cli-value,from-project-file"), run.out


def test_variable_and_project_variables_outrank_dotenv(project: Project, tmp_path: Path) -> None:
    """GitLab's precedence: pipeline (--variable) and project variables over dotenv reports,
    dotenv over the job's own YAML variables."""
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text("FROM_FILE: project-value\n")
    _write(project, f"""\
        image: {IMAGE}
        make:
          stage: build
          script:
            - printf 'CLI=dotenv\\nFROM_FILE=dotenv\\nYAML=dotenv\\n' > build.env
          artifacts: {{reports: {{dotenv: build.env}}}}
        use:
          stage: test
          variables: {{CLI: yaml, FROM_FILE: yaml, YAML: yaml}}
          script:
            - echo "got CLI=$CLI FROM_FILE=$FROM_FILE YAML=$YAML"
        """)
    run = project.run(".gitlab-ci.yml", "--variable", "CLI=command-line",
                      "--variables-file", str(varsfile))
    assert run.code == 0, run.out + run.err
    assert said(run.out, "use", "got CLI=command-line FROM_FILE=project-value YAML=dotenv"), \
        run.out


def test_retry_exit_codes_as_gitlab_combines_them(project: Project) -> None:
    """exit_codes alone retries only those codes; with `when`, either one retries."""
    _write(project, f"""\
        image: {IMAGE}
        listed-code:
          script: [exit 3]
          retry: {{max: 2, exit_codes: 3}}
        other-code:
          script: [exit 1]
          retry: {{max: 2, exit_codes: [3, 4]}}
        kind-or-code:
          script: [exit 1]
          retry: {{max: 1, when: script_failure, exit_codes: 3}}
        code-not-kind:
          script: [exit 4]
          retry: {{max: 1, when: runner_system_failure, exit_codes: 4}}
        """)
    run = project.run(".gitlab-ci.yml")
    assert run.code == 1, run.out + run.err
    attempts = {name: entry["attempts"] for name, entry in job_results(project).items()}
    assert attempts == {"listed-code": 3, "other-code": 1, "kind-or-code": 2,
                        "code-not-kind": 2}
    assert ("runner: not retrying: exit code 1 is not one of retry:exit_codes (3, 4)"
            in project.log("other-code"))


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "-C", str(root), *args],
                   check=True, capture_output=True, timeout=30)


def test_rules_changes_and_compare_to_on_the_command_line(project: Project) -> None:
    """`runner exec --list` on a branch lists only the jobs its changes select;
    --compare-to moves the base; a ref that names nothing is a usage error (exit 2)."""
    _write(project, f"""\
        image: {IMAGE}
        api: {{script: [x], rules: [{{changes: ["api/**/*"]}}]}}
        web: {{script: [x], rules: [{{changes: ["web/*"]}}]}}
        """)
    (project.root / "api").mkdir()
    (project.root / "web").mkdir()
    (project.root / "api" / "a.go").write_text("1\n")
    (project.root / "web" / "b.js").write_text("1\n")
    _git(project.root, "add", "-A")
    _git(project.root, "commit", "-qm", "one")
    _git(project.root, "branch", "-M", "main")
    _git(project.root, "tag", "start")
    (project.root / "web" / "b.js").write_text("2\n")
    _git(project.root, "commit", "-qam", "web")
    _git(project.root, "checkout", "-qb", "feature")
    (project.root / "api" / "a.go").write_text("2\n")
    _git(project.root, "commit", "-qam", "api")

    def listed(*args: str) -> list[str]:
        run = project.run(".gitlab-ci.yml", "--list", *args)
        assert run.code == 0, run.out + run.err
        return [line.split()[0] for line in run.out.splitlines()[1:] if line.strip()]

    assert listed() == ["api"]
    assert listed("--compare-to", "start") == ["api", "web"]
    bad = project.run(".gitlab-ci.yml", "--list", "--compare-to", "nope")
    assert bad.code == 2, bad.out + bad.err
    assert "--compare-to 'nope' names no commit" in bad.err
    assert "Traceback" not in bad.err
