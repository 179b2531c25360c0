"""Job services and UID-slice benchmarks: what a service adds to a job, what a new slice costs.

Services: the wall time of ``runner exec`` for a one-job pipeline with one
busybox httpd service (``ports: [8080]``) minus the same pipeline without
it, plus the "ready after" figure runner logs.

Slices: rootless podman keeps an id-shifted copy of an image per UID
mapping, made the first time a container starts with that mapping. To
measure that first start without leaving a copy behind each time, every
sample uses a LABEL-only copy of the ~230 MB image: the same layer under a
new image id, so it has no mapped copy yet, and ``podman rmi`` of it
removes the copies made for it (never the original's). The mapping used
for ``podman run`` is the base of the highest slot, whose lease we hold
meanwhile, so no runner job can get that slice then.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from runner.engine.slices import SLICE_SIZE
from runner.host import facts

IMAGE = "localhost/busybox:latest"
BIG_IMAGE = "localhost/runner-buildah:bookworm"
COPY_REPO = "localhost/runner-bench-reown"
Row = tuple[str, str, str]

HTTPD = json.dumps(["sh", "-c", "mkdir -p /srv && echo ok > /srv/index.html && "
                    "exec httpd -f -p 8080 -h /srv"])
WITH_SERVICE = f"""version: 1
jobs:
  only:
    image: {IMAGE}
    services:
      - image: {IMAGE}
        command: {HTTPD}
        ports: [8080]
    script: ["echo ok"]
"""
WITHOUT_SERVICE = f"""version: 1
jobs:
  only:
    image: {IMAGE}
    script: ["echo ok"]
"""
READY = re.compile(r"ready on port 8080 after (\d+\.\d+)s")
UID_MAP = re.compile(r"^only\s*\| \s*0\s+(\d+)\s+(\d+)\s*$", re.MULTILINE)


def service_rows(base: Path, repeat: int) -> list[Row]:
    """Rows for a job's service and for the first use of a UID slice."""
    base.mkdir(parents=True, exist_ok=True)
    return _service_cost(base, repeat) + _slice_cost(base, repeat)


# -- services -------------------------------------------------------------------------------------


def _project(root: Path, pipeline: str) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / "pipeline.yml").write_text(pipeline)
    return root


def _exec(root: Path) -> tuple[float, str]:
    """One ``runner exec`` of ``root``'s pipeline: seconds, and what it printed."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "runner", "exec", "--color", "never",
                           "--cache-dir", str(root / ".cache"), str(root / "pipeline.yml")],
                          check=True, capture_output=True, text=True, timeout=300)
    return time.perf_counter() - start, done.stdout


def _service_cost(base: Path, repeat: int) -> list[Row]:
    with_root = _project(base / "with-service", WITH_SERVICE)
    without_root = _project(base / "without-service", WITHOUT_SERVICE)
    _exec(with_root)  # warm-up: slices, image copies, Python caches
    _exec(without_root)
    with_s: list[float] = []
    without_s: list[float] = []
    ready_s: list[float] = []
    for _ in range(repeat):  # interleaved, so drift hits both alike
        took, _out = _exec(with_root)
        with_s.append(took)
        found = READY.search((with_root / ".runner" / "latest" / "only.log").read_text())
        if found is None:
            raise RuntimeError("the job log has no 'ready on port 8080' line")
        ready_s.append(float(found[1]))
        without_s.append(_exec(without_root)[0])
    with_m, without_m = statistics.median(with_s), statistics.median(without_s)
    return [
        ("job with one service (httpd, ports: [8080]), wall", f"{with_m:.3f} s", ""),
        ("same job without the service, wall", f"{without_m:.3f} s", ""),
        ("service cost: pod, service start, readiness", f"{with_m - without_m:.3f} s",
         "(difference of the medians)"),
        ("  of which runner logs 'ready after'", f"{statistics.median(ready_s):.3f} s",
         "(runner's wait for the port)"),
    ]


# -- UID slices -----------------------------------------------------------------------------------


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True,
                          timeout=600)


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


@contextlib.contextmanager
def _top_slot() -> Iterator[int]:
    """Hold the lease of the highest free slot (as runner leases: flock on its file)."""
    host = facts.gather_quick()
    ids = min(sum(r.count for r in host.subuids), sum(r.count for r in host.subgids))
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    slots = (Path(runtime) if runtime else Path.home() / ".cache") / "runner" / "slots"
    slots.mkdir(mode=0o700, parents=True, exist_ok=True)
    for slot in range(ids // SLICE_SIZE - 1, 0, -1):
        fd = os.open(slots / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield slot
        finally:
            os.close(fd)
        return
    raise RuntimeError("every slot above 0 is leased; run the benchmark when runner is idle")


class Copies:
    """LABEL-only copies of BIG_IMAGE (new image id, same layer), each removed at the end."""

    def __init__(self, base: Path) -> None:
        self.context = base / "copy-context"
        self.context.mkdir()
        self.tags: list[str] = []

    def fresh(self) -> str:
        tag = f"{COPY_REPO}:{len(self.tags)}"
        (self.context / "Containerfile").write_text(
            f"FROM {BIG_IMAGE}\nLABEL io.github.runner.bench.copy=\"{time.time_ns()}\"\n")
        self.tags.append(tag)
        _podman("build", "--quiet", "--pull=never", "--tag", tag, str(self.context))
        return tag

    @staticmethod
    def size_mb(tag: str) -> int:
        """The image's own size (podman's figure for an image counts its mapped copies too)."""
        return round(int(_podman("image", "inspect", "--format", "{{.Size}}", tag).stdout) / 1e6)

    def remove_all(self) -> None:
        if self.tags:
            _podman("rmi", "--force", *self.tags, check=False)


def _layers() -> dict[str, int]:
    """Every layer id in podman's store with its diff size (overlay driver only)."""
    root = _podman("info", "--format", "{{.Store.GraphRoot}}").stdout.strip()
    path = Path(root) / "overlay-layers" / "layers.json"
    if not path.exists():
        return {}
    return {layer["id"]: int(layer.get("diff-size") or 0)
            for layer in json.loads(path.read_text())}


def _du_bytes(layer_ids: list[str]) -> int:
    """Disk taken by these overlay layers' directories (read inside podman's namespace)."""
    root = _podman("info", "--format", "{{.Store.GraphRoot}}").stdout.strip()
    dirs = [str(Path(root) / "overlay" / layer) for layer in layer_ids]
    if not dirs:
        return 0
    out = _podman("unshare", "du", "-s", "-B1", "-c", *dirs).stdout
    return int(out.splitlines()[-1].split()[0])


def _slice_cost(base: Path, repeat: int) -> list[Row]:
    if _podman("image", "exists", BIG_IMAGE, check=False).returncode != 0:
        return [("new UID slice on a ~200 MB image", "skipped",
                 f"{BIG_IMAGE} missing (deploy/buildah-image.sh builds it)")]
    copies = Copies(base)
    try:
        return _podman_rows(copies, repeat) + _exec_rows(base, copies, repeat)
    finally:
        copies.remove_all()


def _podman_rows(copies: Copies, repeat: int) -> list[Row]:
    first_s: list[float] = []
    again_s: list[float] = []
    disk: list[int] = []
    with _top_slot() as slot:
        mapping = f"0:{1 + slot * SLICE_SIZE}:{SLICE_SIZE}"
        for _ in range(repeat):
            image = copies.fresh()
            size_mb = copies.size_mb(image)
            argv = ["podman", "run", "--rm", "--uidmap", mapping, "--gidmap", mapping, image,
                    "true"]
            before = _layers()
            first_s.append(_timed(argv))
            disk.append(_du_bytes(sorted(_layers().keys() - before.keys())))
            again_s.append(_timed(argv))
    first, again = statistics.median(first_s), statistics.median(again_s)
    return [
        (f"podman run --uidmap true, {size_mb} MB image, new slice", f"{first:.3f} s",
         f"({BIG_IMAGE}: fresh copy each time; slot {slot}'s mapping)"),
        ("  same slice again", f"{again:.3f} s",
         f"first start pays {first - again:.3f} s to re-own the layers"),
        ("  disk per slice the image is mapped to", f"{statistics.median(disk) / 1e6:.0f} MB",
         "(kept until the image is removed)" if disk[0] else "(not measured: not overlay)"),
    ]


def _exec_rows(base: Path, copies: Copies, repeat: int) -> list[Row]:
    """``runner exec`` of a job on a fresh copy, twice: does the second pay the re-own again?"""
    root = base / "slice-exec"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    firsts: list[float] = []
    seconds: list[float] = []
    slots: list[tuple[int, int]] = []
    for _ in range(repeat):
        image = copies.fresh()
        (root / "pipeline.yml").write_text(
            f"version: 1\njobs:\n  only:\n    image: {image}\n"
            "    script: [\"cat /proc/self/uid_map\"]\n")
        pair = []
        for runs in (firsts, seconds):
            took, out = _exec(root)
            runs.append(took)
            found = UID_MAP.search(out)
            if found is None:
                raise RuntimeError(f"no uid_map line in the job's output:\n{out}")
            pair.append((int(found[1]) - 1) // SLICE_SIZE)
        slots.append((pair[0], pair[1]))
    first, second = statistics.median(firsts), statistics.median(seconds)
    same = sum(1 for one, two in slots if one == two)
    verdict = "ok" if same == len(slots) else "MISSED"
    where = ", ".join(f"{one}->{two}" for one, two in slots)
    return [
        ("runner exec, 1 job on a fresh copy of that image, 1st run", f"{first:.3f} s",
         f"slots {where}"),
        ("  same pipeline again (2nd run)", f"{second:.3f} s",
         f"same slot in {same}/{len(slots)} pairs {verdict}; saves {first - second:.3f} s"),
    ]
