"""The agent's counters, in Prometheus' text format (no client library needed for these few).

Kept as plain numbers updated from the event loop; rendering is a pure
function, so the format is tested without a server.

Two kinds of names. ``runner_*`` are our own. ``gitlab_runner_*`` are
gitlab-runner's names, labels and buckets, used only where the meaning is the
same, so that an existing gitlab-runner dashboard (Grafana 9631 and the like)
shows this agent too: ``runner`` is the short token, ``runner_name`` the
config's name, ``system_id`` the agent's.
"""

from __future__ import annotations

import platform
from collections import Counter
from dataclasses import dataclass, field

from runner import __version__

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
JOB_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 10800.0,
               18000.0, 36000.0)
"""Ours: short jobs are common here, so the low end is finer than gitlab-runner's."""
GITLAB_JOB_BUCKETS = (30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 10800.0, 18000.0,
                      36000.0)
"""gitlab-runner's buckets for ``gitlab_runner_job_duration_seconds``: dashboards assume them."""

Labels = tuple[tuple[str, str], ...]


def label_text(labels: Labels) -> str:
    """``{a="x",b="y"}`` with Prometheus' escapes (runner names are the operator's text)."""
    if not labels:
        return ""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{key}="{escape(value)}"' for key, value in labels) + "}"


@dataclass
class Histogram:
    """Cumulative-bucket histograms, one per label set."""

    buckets: tuple[float, ...]
    counts: dict[Labels, list[int]] = field(default_factory=dict)
    sums: dict[Labels, float] = field(default_factory=dict)

    def observe(self, labels: Labels, value: float) -> None:
        """Count ``value`` in every bucket at or above it."""
        counts = self.counts.setdefault(labels, [0] * (len(self.buckets) + 1))
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                counts[index] += 1
        counts[-1] += 1
        self.sums[labels] = self.sums.get(labels, 0.0) + value

    def lines(self, name: str) -> list[str]:
        """The samples, label sets sorted."""
        out: list[str] = []
        for labels in sorted(self.counts):
            counts = self.counts[labels]
            for bound, count in zip((*self.buckets, None), counts, strict=True):
                le = "+Inf" if bound is None else f"{bound:g}"
                out.append(f"{name}_bucket{label_text((*labels, ('le', le)))} {count}")
            out.append(f"{name}_sum{label_text(labels)} {self.sums[labels]:.6f}")
            out.append(f"{name}_count{label_text(labels)} {counts[-1]}")
        return out


def family(name: str, kind: str, text: str) -> list[str]:
    """A family's ``# HELP`` and ``# TYPE`` lines."""
    return [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]


@dataclass
class Metrics:
    """What /metrics shows."""

    running: int = 0
    finished: Counter[str] = field(default_factory=Counter)
    """Jobs ended, by final state (success, failed, canceled, not_accepted)."""
    request_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(endpoint, status or "network") of answers that were errors."""
    poll_buckets: list[int] = field(default_factory=lambda: [0] * len(POLL_BUCKETS))
    poll_count: int = 0
    poll_sum: float = 0.0
    healthy: bool = True
    """False while the coordinator refuses or cannot be reached."""
    system_id: str = ""
    concurrent: int = 0
    limits: dict[Labels, int] = field(default_factory=dict)
    """Per runner (gitlab-runner's labels): its ``limit``; set at start and on reload."""
    durations: Histogram = field(default_factory=lambda: Histogram(JOB_BUCKETS))
    """Ours: by coordinator (the runner's URL) and result (the final state)."""
    gitlab_durations: Histogram = field(default_factory=lambda: Histogram(GITLAB_JOB_BUCKETS))
    jobs_total: Counter[Labels] = field(default_factory=Counter)
    running_by: Counter[Labels] = field(default_factory=Counter)
    failed_by: Counter[Labels] = field(default_factory=Counter)

    def runner_labels(self, short_token: str, name: str) -> Labels:
        """gitlab-runner's labels of one runner."""
        return (("runner", short_token), ("runner_name", name), ("system_id", self.system_id))

    def set_limit(self, runner: Labels, limit: int | None) -> None:
        """A runner's ``limit`` for ``gitlab_runner_limit``; None: the runner is gone."""
        if limit is None:
            self.limits.pop(runner, None)
        else:
            self.limits[runner] = limit

    def observe(self, endpoint: str, status: int | None, seconds: float) -> None:
        """One answer from the coordinator (the client's observer)."""
        if status is None or status >= 400:
            self.request_errors[(endpoint, "network" if status is None else str(status))] += 1
        if endpoint == "request_job":
            self.poll_count += 1
            self.poll_sum += seconds
            for index, bound in enumerate(POLL_BUCKETS):
                if seconds <= bound:
                    self.poll_buckets[index] += 1

    def job_started(self, runner: Labels) -> None:
        """A job of ``runner`` began."""
        self.running += 1
        self.running_by[runner] += 1

    def job_ended(self, runner: Labels) -> None:
        """A job of ``runner`` is over, however it went (``job_finished`` counted it, if
        it got that far)."""
        self.running -= 1
        self.running_by[runner] -= 1

    def job_finished(self, runner: Labels, coordinator: str, state: str, seconds: float,
                     failure_reason: str | None = None) -> None:
        """A job's final state and how long it took from being taken to being reported."""
        self.finished[state] += 1
        self.durations.observe((("coordinator", coordinator), ("result", state)), seconds)
        self.gitlab_durations.observe(runner, seconds)
        self.jobs_total[runner] += 1
        if failure_reason:
            self.failed_by[(*runner, ("failure_reason", failure_reason))] += 1

    def render(self) -> str:
        """The Prometheus text exposition."""
        lines = [
            "# HELP runner_jobs_running Jobs running now.",
            "# TYPE runner_jobs_running gauge",
            f"runner_jobs_running {self.running}",
            "# HELP runner_jobs_finished_total Jobs ended, by final state.",
            "# TYPE runner_jobs_finished_total counter",
        ]
        lines += [f'runner_jobs_finished_total{{state="{state}"}} {count}'
                  for state, count in sorted(self.finished.items())]
        lines += [
            "# HELP runner_request_errors_total Coordinator answers that were errors.",
            "# TYPE runner_request_errors_total counter",
        ]
        lines += [f'runner_request_errors_total{{endpoint="{ep}",status="{st}"}} {count}'
                  for (ep, st), count in sorted(self.request_errors.items())]
        lines += [
            "# HELP runner_poll_duration_seconds How long job requests took.",
            "# TYPE runner_poll_duration_seconds histogram",
        ]
        lines += [f'runner_poll_duration_seconds_bucket{{le="{bound:g}"}} {count}'
                  for bound, count in zip(POLL_BUCKETS, self.poll_buckets, strict=True)]
        lines += [
            f'runner_poll_duration_seconds_bucket{{le="+Inf"}} {self.poll_count}',
            f"runner_poll_duration_seconds_sum {self.poll_sum:.6f}",
            f"runner_poll_duration_seconds_count {self.poll_count}",
            "# HELP runner_up Whether the last job request reached the coordinator.",
            "# TYPE runner_up gauge",
            f"runner_up {int(self.healthy)}",
        ]
        return "\n".join(lines + self._more()) + "\n"

    def _more(self) -> list[str]:
        """The families added for operators: build info, job durations, gitlab-runner's."""
        version = label_text((("version", __version__),
                              ("python", platform.python_version())))
        gitlab_version = label_text((("name", "runner"), ("version", __version__),
                                     ("os", "linux"), ("architecture", platform.machine())))
        return [
            *family("runner_build_info", "gauge", "Always 1; the labels say which runner."),
            f"runner_build_info{version} 1",
            *family("runner_job_duration_seconds", "histogram",
                    "Jobs from being taken to being reported, by coordinator and result."),
            *self.durations.lines("runner_job_duration_seconds"),
            *family("gitlab_runner_version_info", "gauge",
                    "gitlab-runner's build info family, for its dashboards."),
            f"gitlab_runner_version_info{gitlab_version} 1",
            *family("gitlab_runner_concurrent", "gauge", "The agent's concurrent setting."),
            f"gitlab_runner_concurrent {self.concurrent}",
            *family("gitlab_runner_limit", "gauge", "Each runner's limit setting."),
            *(f"gitlab_runner_limit{label_text(labels)} {value}"
              for labels, value in sorted(self.limits.items())),
            *family("gitlab_runner_jobs", "gauge", "Jobs running now, by runner."),
            *(f"gitlab_runner_jobs{label_text(labels)} {count}"
              for labels, count in sorted(self.running_by.items())),
            *family("gitlab_runner_jobs_total", "counter", "Jobs handled, by runner."),
            *(f"gitlab_runner_jobs_total{label_text(labels)} {count}"
              for labels, count in sorted(self.jobs_total.items())),
            *family("gitlab_runner_failed_jobs_total", "counter",
                    "Failed jobs, by runner and failure reason."),
            *(f"gitlab_runner_failed_jobs_total{label_text(labels)} {count}"
              for labels, count in sorted(self.failed_by.items())),
            *family("gitlab_runner_job_duration_seconds", "histogram",
                    "Job durations, by runner (gitlab-runner's buckets)."),
            *self.gitlab_durations.lines("gitlab_runner_job_duration_seconds"),
        ]
