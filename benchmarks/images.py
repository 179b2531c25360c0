"""Jobs whose image lives in their project's own store: the first run pulls, later runs do not.

A copy of busybox is pushed to a TLS + htpasswd registry. One project lists
that registry with credentials, so its job pulls the image into the
project's own store and runs from there; another runs the local busybox
from the user's store. Rows: the first run of the private job (pull, a new
store, the slice's id-shifted copy), then the medians of repeated runs of
both, which should match: keeping images per tenant costs nothing per job.
Last, what ``pull_policy: always`` costs when the tag has not moved.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runner.build.storage import store_roots, tenant_store
from runner.engine.argv import remove_store_argv
from runner.engine.imageref import ImageRef
from runner.execute.images import Fetcher, ImagePlan
from runner.execute.layout import tenant_key
from runner.pipeline.model import Registry as ModelRegistry
from tests.registry import Registry, RegistryServer, push_image

IMAGE = "localhost/busybox:latest"
Row = tuple[str, str, str]


def image_rows(base: Path, repeat: int) -> list[Row]:
    base.mkdir(parents=True, exist_ok=True)
    server = RegistryServer(base / "registry")
    registry = server.start()
    private = base / "private"
    try:
        reference = push_image(registry, IMAGE, "bench/busybox:1")
        _project(private, f"""version: 1
secrets: {{REG_PW: {{env: REG_PW}}}}
registries:
  "{registry.host}": {{ca_file: "{registry.ca_file}", username: {registry.username},
                      password_secret: REG_PW}}
jobs:
  only:
    image: {reference}
    script: ["echo ok"]
""")
        public = _project(base / "public", f"""version: 1
jobs:
  only:
    image: {IMAGE}
    script: ["echo ok"]
""")
        env = {**os.environ, "REG_PW": registry.password}
        first = _exec(private, env)
        if "pulling image" not in (private / ".runner/latest/only.log").read_text():
            raise RuntimeError("the private job's first run did not pull its image")
        _exec(public, env)  # warm-up
        private_s, public_s = [], []
        for _ in range(repeat):  # interleaved, so drift hits both alike
            private_s.append(_exec(private, env))
            public_s.append(_exec(public, env))
        rows = _policy_rows(registry, reference, private, base / "scratch", repeat)
        return [
            ("job from its project's store (private image): first run", f"{first:.3f} s",
             "(pull + id-shifted copy)"),
            ("  same job, later runs", f"{statistics.median(private_s):.3f} s",
             "<= user's store + 10 %"),
            ("  same job, public image from the user's store",
             f"{statistics.median(public_s):.3f} s", "(for scale)"),
            *rows,
        ]
    finally:
        server.stop()
        _remove_store(private)


def _policy_rows(registry: Registry, reference: str, project: Path, scratch: Path,
                 repeat: int) -> list[Row]:
    """What ``pull_policy: always`` costs over ``if-not-present`` when the tag has not moved.

    The fetch alone, as a job makes it before its container starts, on the
    project's store that already holds the image: ``always`` asks the
    registry (manifest and config; no layer is fetched again).
    """
    stores, runroots = store_roots(os.environ, Path.home())
    store = tenant_store(stores, runroots, tenant_key(project))
    ref = ImageRef(reference)
    access = (ModelRegistry(registry.host, ca_file=registry.ca_file,
                            username=registry.username, password_secret="REG_PW"),)
    plan = ImagePlan(store, (ref,), frozenset({ref}))

    def fetch(policy: str) -> float:
        fetcher = Fetcher(access, {"REG_PW": registry.password}, None, (policy,))
        directory = scratch / f"{policy}-{time.monotonic_ns()}"
        start = time.perf_counter()
        asyncio.run(fetcher.fetch(plan, directory, lambda _b: None, lambda _t: None))
        took = time.perf_counter() - start
        shutil.rmtree(directory, ignore_errors=True)
        return took

    scratch.mkdir(parents=True, exist_ok=True)
    fetch("always")  # warm-up
    always, present = [], []
    for _ in range(repeat):
        always.append(fetch("always"))
        present.append(fetch("if-not-present"))
    return [
        ("image fetch, tag unchanged: pull_policy always", f"{statistics.median(always):.3f} s",
         "(manifest + config request)"),
        ("  same, pull_policy if-not-present", f"{statistics.median(present):.3f} s",
         "(store lookup only)"),
    ]


def _project(root: Path, pipeline: str) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / "pipeline.yml").write_text(pipeline)
    return root


def _exec(root: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "runner", "exec", "--color", "never"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"runner exec failed in {root}:\n{done.stdout}{done.stderr}")
    return took


def _remove_store(root: Path) -> None:
    """The project's store holds files of subordinate ids: removed inside podman's namespace."""
    stores, runroots = store_roots(os.environ, Path.home())
    store = tenant_store(stores, runroots, tenant_key(root))
    subprocess.run(remove_store_argv(store), check=False, capture_output=True, timeout=300)
    (store.root.parent / f"{store.root.name}.lock").unlink(missing_ok=True)
