"""/metrics in Prometheus' text format: HELP/TYPE per family, labels, a cumulative histogram."""

from __future__ import annotations

import platform
import re

import pytest

from runner import __version__
from runner.agent.metrics import GITLAB_JOB_BUCKETS, JOB_BUCKETS, POLL_BUCKETS, Metrics

SAMPLE = re.compile(r'^([a-z_]+)(\{([a-z_]+="([^"\\]|\\.)*")(,[a-z_]+="([^"\\]|\\.)*")*\})? (\S+)$')


def samples(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` for every sample line; fails on a malformed line."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        name, value = line.rsplit(" ", 1)
        assert name not in found, f"duplicate sample {name}"
        found[name] = float(value)
    return found


def test_fresh_metrics_render_every_family() -> None:
    text = Metrics().render()
    assert text.endswith("\n")
    assert text.splitlines() == [
        "# HELP runner_jobs_running Jobs running now.",
        "# TYPE runner_jobs_running gauge",
        "runner_jobs_running 0",
        "# HELP runner_jobs_finished_total Jobs ended, by final state.",
        "# TYPE runner_jobs_finished_total counter",
        "# HELP runner_request_errors_total Coordinator answers that were errors.",
        "# TYPE runner_request_errors_total counter",
        "# HELP runner_poll_duration_seconds How long job requests took.",
        "# TYPE runner_poll_duration_seconds histogram",
        'runner_poll_duration_seconds_bucket{le="0.05"} 0',
        'runner_poll_duration_seconds_bucket{le="0.1"} 0',
        'runner_poll_duration_seconds_bucket{le="0.25"} 0',
        'runner_poll_duration_seconds_bucket{le="0.5"} 0',
        'runner_poll_duration_seconds_bucket{le="1"} 0',
        'runner_poll_duration_seconds_bucket{le="2.5"} 0',
        'runner_poll_duration_seconds_bucket{le="5"} 0',
        'runner_poll_duration_seconds_bucket{le="10"} 0',
        'runner_poll_duration_seconds_bucket{le="30"} 0',
        'runner_poll_duration_seconds_bucket{le="60"} 0',
        'runner_poll_duration_seconds_bucket{le="+Inf"} 0',
        "runner_poll_duration_seconds_sum 0.000000",
        "runner_poll_duration_seconds_count 0",
        "# HELP runner_up Whether the last job request reached the coordinator.",
        "# TYPE runner_up gauge",
        "runner_up 1",
        "# HELP runner_build_info Always 1; the labels say which runner.",
        "# TYPE runner_build_info gauge",
        f'runner_build_info{{version="{__version__}",python="{platform.python_version()}"}} 1',
        "# HELP runner_job_duration_seconds Jobs from being taken to being reported, by "
        "coordinator and result.",
        "# TYPE runner_job_duration_seconds histogram",
        "# HELP gitlab_runner_version_info gitlab-runner's build info family, for its "
        "dashboards.",
        "# TYPE gitlab_runner_version_info gauge",
        f'gitlab_runner_version_info{{name="runner",version="{__version__}",os="linux",'
        f'architecture="{platform.machine()}"}} 1',
        "# HELP gitlab_runner_concurrent The agent's concurrent setting.",
        "# TYPE gitlab_runner_concurrent gauge",
        "gitlab_runner_concurrent 0",
        "# HELP gitlab_runner_limit Each runner's limit setting.",
        "# TYPE gitlab_runner_limit gauge",
        "# HELP gitlab_runner_jobs Jobs running now, by runner.",
        "# TYPE gitlab_runner_jobs gauge",
        "# HELP gitlab_runner_jobs_total Jobs handled, by runner.",
        "# TYPE gitlab_runner_jobs_total counter",
        "# HELP gitlab_runner_failed_jobs_total Failed jobs, by runner and failure reason.",
        "# TYPE gitlab_runner_failed_jobs_total counter",
        "# HELP gitlab_runner_job_duration_seconds Job durations, by runner (gitlab-runner's "
        "buckets).",
        "# TYPE gitlab_runner_job_duration_seconds histogram",
    ]


def test_every_family_has_help_then_type_before_its_samples() -> None:
    metrics = Metrics(running=2)
    metrics.finished["success"] += 1
    metrics.observe("patch_trace", 500, 0.1)
    lines = metrics.render().splitlines()
    families: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert lines[index + 1].startswith(f"# TYPE {name} ")
            families.append(name)
        elif not line.startswith("#"):
            assert line.startswith(families[-1]), f"{line!r} outside its family"
    assert families == ["runner_jobs_running", "runner_jobs_finished_total",
                        "runner_request_errors_total", "runner_poll_duration_seconds",
                        "runner_up", "runner_build_info", "runner_job_duration_seconds",
                        "gitlab_runner_version_info", "gitlab_runner_concurrent",
                        "gitlab_runner_limit", "gitlab_runner_jobs", "gitlab_runner_jobs_total",
                        "gitlab_runner_failed_jobs_total", "gitlab_runner_job_duration_seconds"]


def test_histogram_buckets_are_cumulative() -> None:
    """Prometheus wants ``le`` buckets to count every observation at or below the bound."""
    metrics = Metrics()
    for seconds in (0.01, 0.07, 0.3, 0.3, 4.0, 45.0, 120.0):
        metrics.observe("request_job", 204, seconds)
    got = samples(metrics.render())
    bucket = {bound: got[f'runner_poll_duration_seconds_bucket{{le="{bound:g}"}}']
              for bound in POLL_BUCKETS}
    assert bucket == {0.05: 1, 0.1: 2, 0.25: 2, 0.5: 4, 1.0: 4, 2.5: 4, 5.0: 5, 10.0: 5,
                      30.0: 5, 60.0: 6}
    assert got['runner_poll_duration_seconds_bucket{le="+Inf"}'] == 7
    assert got["runner_poll_duration_seconds_count"] == 7
    assert got["runner_poll_duration_seconds_sum"] == pytest.approx(169.68)
    counts = [*bucket.values(), got['runner_poll_duration_seconds_bucket{le="+Inf"}']]
    assert counts == sorted(counts)


def test_bucket_bound_is_inclusive() -> None:
    metrics = Metrics()
    metrics.observe("request_job", 201, 0.5)
    got = samples(metrics.render())
    assert got['runner_poll_duration_seconds_bucket{le="0.25"}'] == 0
    assert got['runner_poll_duration_seconds_bucket{le="0.5"}'] == 1


def test_only_job_requests_are_timed() -> None:
    metrics = Metrics()
    metrics.observe("patch_trace", 202, 3.0)
    metrics.observe("update_job", 200, 3.0)
    got = samples(metrics.render())
    assert got["runner_poll_duration_seconds_count"] == 0
    assert got["runner_poll_duration_seconds_sum"] == 0


def test_errors_by_endpoint_and_status_sorted() -> None:
    metrics = Metrics()
    metrics.observe("request_job", None, 1.0)
    metrics.observe("request_job", None, 1.0)
    metrics.observe("patch_trace", 502, 0.2)
    metrics.observe("request_job", 403, 0.1)
    metrics.observe("update_job", 200, 0.1)  # not an error
    metrics.observe("request_job", 204, 0.1)  # not an error
    lines = [line for line in metrics.render().splitlines()
             if line.startswith("runner_request_errors_total")]
    assert lines == [
        'runner_request_errors_total{endpoint="patch_trace",status="502"} 1',
        'runner_request_errors_total{endpoint="request_job",status="403"} 1',
        'runner_request_errors_total{endpoint="request_job",status="network"} 2',
    ]


def test_jobs_running_finished_and_up() -> None:
    metrics = Metrics(running=3, healthy=False)
    metrics.finished["success"] += 2
    metrics.finished["failed"] += 1
    metrics.finished["canceled"] += 1
    got = samples(metrics.render())
    assert got["runner_jobs_running"] == 3
    assert got["runner_up"] == 0
    assert [line for line in metrics.render().splitlines()
            if line.startswith("runner_jobs_finished_total")] == [
        'runner_jobs_finished_total{state="canceled"} 1',
        'runner_jobs_finished_total{state="failed"} 1',
        'runner_jobs_finished_total{state="success"} 2',
    ]


RUNNER = (("runner", "AbCdEfGhI"), ("runner_name", "ci-1"), ("system_id", "r_testagent001"))


def test_job_durations_by_coordinator_and_result_and_gitlab_runners_families() -> None:
    metrics = Metrics(system_id="r_testagent001", concurrent=4)
    labels = metrics.runner_labels("AbCdEfGhI", "ci-1")
    assert labels == RUNNER
    metrics.set_limit(labels, 2)
    metrics.job_started(labels)
    metrics.job_started(labels)
    metrics.job_finished(labels, "https://gitlab.example.com/", "success", 0.4)
    metrics.job_ended(labels)
    metrics.job_finished(labels, "https://gitlab.example.com/", "failed", 42.0, "script_failure")
    metrics.job_ended(labels)
    metrics.job_started(labels)
    got = samples(metrics.render())
    ours = 'runner_job_duration_seconds_{}{{coordinator="https://gitlab.example.com/",result="{}"'
    assert got[ours.format("bucket", "success") + ',le="1"}'] == 1
    assert got[ours.format("count", "success") + "}"] == 1
    assert got[ours.format("bucket", "failed") + ',le="30"}'] == 0
    assert got[ours.format("bucket", "failed") + ',le="60"}'] == 1
    assert got[ours.format("sum", "failed") + "}"] == pytest.approx(42.0)
    assert len([k for k in got if k.startswith(ours.format("bucket", "failed"))]) == \
        len(JOB_BUCKETS) + 1
    runner = 'runner="AbCdEfGhI",runner_name="ci-1",system_id="r_testagent001"'
    assert got[f"gitlab_runner_jobs_total{{{runner}}}"] == 2
    assert got[f"gitlab_runner_jobs{{{runner}}}"] == 1
    assert got["runner_jobs_running"] == 1
    assert got[f"gitlab_runner_limit{{{runner}}}"] == 2
    assert got["gitlab_runner_concurrent"] == 4
    assert got[f'gitlab_runner_failed_jobs_total{{{runner},failure_reason="script_failure"}}'] == 1
    gitlab = [k for k in got if k.startswith("gitlab_runner_job_duration_seconds_bucket")]
    assert [k.rsplit('le="', 1)[1].rstrip('"}') for k in gitlab] == \
        [f"{b:g}" for b in GITLAB_JOB_BUCKETS] + ["+Inf"]
    assert got[f'gitlab_runner_job_duration_seconds_bucket{{{runner},le="30"}}'] == 1
    assert got[f'gitlab_runner_job_duration_seconds_bucket{{{runner},le="60"}}'] == 2
    assert metrics.finished == {"success": 1, "failed": 1}


def test_label_values_are_escaped() -> None:
    metrics = Metrics(system_id="r_x")
    labels = metrics.runner_labels("tok", 'a "b"\\c\nd')
    metrics.set_limit(labels, 1)
    lines = [line for line in metrics.render().splitlines()
             if line.startswith("gitlab_runner_limit{")]
    assert lines == ['gitlab_runner_limit{runner="tok",runner_name="a \\"b\\"\\\\c\\nd",'
                     'system_id="r_x"} 1']
    samples(metrics.render())  # still well-formed
    metrics.set_limit(labels, None)
    assert "gitlab_runner_limit{" not in metrics.render()
