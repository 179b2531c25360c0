"""``runner agent`` benchmarks: an idle agent's footprint, a queue of no-op jobs, trace latency.

Each row runs the real agent (``python -m runner agent``) in a subprocess
against the GitLab fake of the agent tests (``tests/agent``), once: these
are wall-clock figures of minutes-long runs, not medians.

* Idle: an empty queue and gitlab-runner's default ``check_interval`` (3 s);
  after the agent settles, its resident memory (VmRSS) and CPU time
  (utime + stime, children included) are sampled from /proc for 20 s.
* 100 no-op jobs (``true`` in busybox, one local repository) queued before
  an agent with ``concurrent: 4`` starts; timed from its start to the
  last job's final state. Every job must succeed and the fake must have
  seen no protocol violation.
* Trace latency: a job prints 40 lines 0.25 s apart, each carrying the
  kernel's CLOCK_BOOTTIME as ``/proc/uptime`` shows it (containers share
  the host's clock, 10 ms resolution); the fake notes when each line's
  bytes arrived (CLOCK_MONOTONIC, moved onto BOOTTIME by their offset now).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runner.engine.slices import SLICE_SIZE
from tests.agent.fake_gitlab import FINISHED, FakeGitLab
from tests.agent.harness import IMAGE, AgentProcess, GitRepo, job, make_repo

Row = tuple[str, str, str]

IDLE_SETTLE_S = 3.0
IDLE_SAMPLE_S = 20.0
IDLE_RSS_MB = 50.0
IDLE_CPU_PCT = 0.2
JOBS = 100
CONCURRENT = 4
JOBS_TARGET_S = 30.0
LINES = 40
LATENCY_P95_S = 1.0
TICKS = os.sysconf("SC_CLK_TCK")
LINE = re.compile(rb"line (\d+) (\d+\.\d+) \d+\.\d+\r?\n")


def agent_rows(base: Path) -> list[Row]:
    """Rows for the idle agent, 100 no-op jobs at concurrency 4, and trace latency."""
    base.mkdir(parents=True, exist_ok=True)
    repo = make_repo(base / "repo")
    return _idle(base / "idle") + _many_jobs(base / "jobs", repo) + _latency(base / "latency",
                                                                              repo)


def _mark(ok: bool) -> str:
    return "✔" if ok else "✗"


@contextmanager
def _running(gl: FakeGitLab, work: Path, *, concurrent: int = 1,
             check_interval: float = 3) -> Iterator[AgentProcess]:
    agent = AgentProcess(gl, work, concurrent=concurrent, check_interval=check_interval).start()
    try:
        yield agent
    finally:
        agent.stop()


# -- idle -----------------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """``pid`` and every live descendant."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def _cpu_ticks(pids: list[int]) -> int:
    """utime + stime + cutime + cstime over ``pids`` (reaped children count in their parent)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += sum(int(value) for value in fields[11:15])
    return total


def _cpu_split(pid: int) -> tuple[float, float]:
    """Seconds of CPU of ``pid`` itself, and of its children it has waited for."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    utime, stime, cutime, cstime = (int(v) for v in stat[stat.rindex(")") + 2:].split()[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def _rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(found[1]) if found else 0
    return total


def _idle(work: Path) -> list[Row]:
    with FakeGitLab() as gl, _running(gl, work, check_interval=3) as agent:
        assert agent.proc is not None
        pid = agent.proc.pid
        gl.wait_for(lambda: len(gl.polls) >= 1, 30, what="the agent's first job request")
        time.sleep(IDLE_SETTLE_S)
        polls_before = len(gl.polls)
        pids = _tree(pid)
        ticks_before, start = _cpu_ticks(pids), time.monotonic()
        rss: list[int] = []
        most = 1
        while time.monotonic() - start < IDLE_SAMPLE_S:
            pids = _tree(pid)
            most = max(most, len(pids))
            rss.append(_rss_kb(pids))
            time.sleep(1.0)
        pids = _tree(pid)
        ticks, took = _cpu_ticks(pids) - ticks_before, time.monotonic() - start
        polls = len(gl.polls) - polls_before
        violations = gl.violations
    if agent.proc.returncode not in (0, None):
        raise RuntimeError(f"the idle agent exited {agent.proc.returncode}:\n{agent.log()}")
    if violations:
        raise RuntimeError("the fake saw protocol violations:\n" + "\n".join(violations))
    rss_mb = max(rss) / 1024
    cpu_pct = ticks / TICKS / took * 100
    processes = "1 process" if most == 1 else f"{most} processes"
    return [
        (f"idle agent: RSS ({processes}, max over {took:.0f} s)", f"{rss_mb:.1f} MB",
         f"<= {IDLE_RSS_MB:.0f} MB {_mark(rss_mb <= IDLE_RSS_MB)}"),
        ("idle agent: CPU (check_interval 3 s)", f"{cpu_pct:.2f} %",
         f"<= {IDLE_CPU_PCT} % {_mark(cpu_pct <= IDLE_CPU_PCT)}  ({polls} polls in "
         f"{took:.0f} s)"),
    ]


# -- many jobs ------------------------------------------------------------------------------------


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _many_jobs(work: Path, repo: GitRepo) -> list[Row]:
    _warm_up(work / "warm-up", repo)
    with FakeGitLab() as gl:
        ids = [gl.add_job(job(repo, script=["true"], name=f"noop{i}")) for i in range(JOBS)]

        def done() -> bool:
            return all(gl.job_state(i) in FINISHED for i in ids)

        start = time.monotonic()
        with _running(gl, work / "run", concurrent=CONCURRENT, check_interval=3) as agent:
            gl.wait_for(done, 300, what=f"{JOBS} jobs to finish")
            snapshots = [gl.job(i) for i in ids]
            assert agent.proc is not None
            own, children = _cpu_split(agent.proc.pid)
            traces = {s.id: gl.trace(s.id) for s in snapshots if s.state != "success"}
        polls, violations = gl.polls, gl.violations
    log = agent.log()
    finished = [s.finished_at for s in snapshots if s.finished_at is not None]
    wall = max(finished) - start
    from_poll = max(finished) - polls[0]
    succeeded = sum(1 for s in snapshots if s.state == "success")
    per_job = [float(event["seconds"]) for event in _events(log)
               if event.get("event") == "job_finished"]
    ok = wall <= JOBS_TARGET_S and succeeded == JOBS and not violations
    if violations:
        print("protocol violations:\n  " + "\n  ".join(violations[:20]))
    for failed in [s for s in snapshots if s.state != "success"][:3]:
        print(f"job {failed.id} ended {failed.state} ({failed.failure_reason}); its trace ends:\n"
              + traces[failed.id][-1500:].decode(errors="replace") + "\nthe agent logged:\n"
              + "\n".join(line for line in log.splitlines()
                           if f'"job_id": {failed.id},' in line))
    rows = [
        (f"{JOBS} no-op jobs, concurrent {CONCURRENT} (agent start to last final PUT)",
         f"{wall:.1f} s", f"<= {JOBS_TARGET_S:.0f} s {_mark(ok)}"),
        ("  same from the agent's first job request", f"{from_poll:.1f} s",
         f"{JOBS / wall:.2f} jobs/s from start"),
        ("  jobs succeeded, protocol violations", f"{succeeded}/{JOBS}, {len(violations)}",
         f"{JOBS}/{JOBS}, 0 {_mark(succeeded == JOBS and not violations)}"),
    ]
    rows.append(("  CPU: agent's Python process / its reaped children, per job",
                 f"{own / JOBS * 1000:.0f} ms", f"{children / JOBS * 1000:.0f} ms children "
                 f"(podman, git, ...); {os.cpu_count()} CPUs"))
    floor = _podman_floor()
    rows.append((f"  baseline: {JOBS} podman run --rm true, {CONCURRENT} at a time",
                 f"{floor:.1f} s", "(podman's floor for the same work)"))
    if per_job:
        rows.append(("  one job in the agent (job_finished seconds), p50 / p95",
                     f"{statistics.median(per_job):.2f} s",
                     f"p95 {_percentile(per_job, 95):.2f} s, max {max(per_job):.2f} s "
                     f"({len(per_job)} logged)"))
    return rows


def _podman_floor() -> float:
    """``CONCURRENT`` workers, each on its own UID mapping, share ``JOBS`` bare containers."""
    def worker(index: int) -> None:
        mapping = f"0:{1 + index * SLICE_SIZE}:{SLICE_SIZE}"
        for _ in range(index, JOBS, CONCURRENT):
            subprocess.run(["podman", "run", "--rm", "--uidmap", mapping, "--gidmap", mapping,
                            IMAGE, "true"], check=True, capture_output=True, timeout=300)

    start = time.monotonic()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        list(pool.map(worker, range(CONCURRENT)))
    return time.monotonic() - start


def _events(log: str) -> list[dict[str, Any]]:
    """The agent's JSON log lines (its stderr is not a TTY)."""
    events = []
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return events


def _warm_up(work: Path, repo: GitRepo) -> None:
    """One job per slot first: the first container of a UID slice re-owns the image once."""
    with FakeGitLab() as gl:
        ids = [gl.add_job(job(repo, script=["true"])) for _ in range(CONCURRENT)]
        with _running(gl, work, concurrent=CONCURRENT, check_interval=3):
            for job_id in ids:
                gl.wait(job_id, timeout=300)


# -- trace latency --------------------------------------------------------------------------------


def _latency(work: Path, repo: GitRepo) -> list[Row]:
    script = [f'for i in $(seq 1 {LINES}); do echo "line $i $(cat /proc/uptime)"; sleep 0.25; '
              "done"]
    rows: list[Row] = []
    for interval, label in ((None, "agent's own pace, no interval header"),
                            (3, "server asks X-GitLab-Trace-Update-Interval: 3")):
        latencies = _trace_latencies(work / f"interval-{interval}", repo, script, interval)
        p50, p95 = statistics.median(latencies), _percentile(latencies, 95)
        target = (f"p95 <= {LATENCY_P95_S:.0f} s {_mark(p95 <= LATENCY_P95_S)}"
                  if interval is None else "(GitLab's pace while someone watches the job)")
        rows.append((f"trace latency, {label}: p50", f"{p50:.2f} s", target))
        rows.append(("  p95 / max", f"{p95:.2f} s", f"max {max(latencies):.2f} s "
                     f"({len(latencies)} lines)"))
    return rows


def _trace_latencies(work: Path, repo: GitRepo, script: list[str],
                     interval: int | None) -> list[float]:
    """Seconds from each line's print (BOOTTIME) to its bytes' arrival at the fake."""
    with FakeGitLab() as gl:
        gl.trace_interval_s = interval
        job_id = gl.add_job(job(repo, script=script, name="ticker"))
        with _running(gl, work, concurrent=1, check_interval=3):
            state = gl.wait(job_id, timeout=300)
        offset = time.clock_gettime(time.CLOCK_BOOTTIME) - time.monotonic()
        trace = gl.trace(job_id)
        arrivals = [(float(m[2]), gl.byte_arrival(job_id, m.end() - 1))
                    for m in LINE.finditer(trace)]
        violations = gl.violations
    if state != "success" or violations:
        raise RuntimeError(f"the ticker job ended {state}; violations: {violations}\n"
                           + trace.decode(errors="replace"))
    if len(arrivals) != LINES:
        raise RuntimeError(f"{len(arrivals)} of {LINES} lines found in the trace:\n"
                           + trace.decode(errors="replace"))
    return [arrived + offset - printed for printed, arrived in arrivals if arrived is not None]
