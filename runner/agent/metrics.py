"""The agent's counters, in Prometheus' text format (no client library needed for five series).

Kept as plain numbers updated from the event loop; rendering is a pure
function, so the format is tested without a server.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


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
        return "\n".join(lines) + "\n"
