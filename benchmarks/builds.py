"""Image build benchmarks (issue 4): cold, unchanged, from a registry cache, push.

Runner's side is measured in-process through ``build_image``, the code a
build job and ``runner build`` both run (the Python start of a ``runner``
command is paid once per pipeline, and shown on its own row). Bare buildah
runs on the same input against the same store. A throwaway registry
(``tests/registry.py``: docker-registry, TLS, htpasswd) takes the pushes and
the layer cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from runner.build.builder import BuildEnv, build_image
from runner.engine.argv import StoreSpec, store_options
from runner.pipeline.model import Build, Registry
from tests.registry import Registry as TestRegistry
from tests.registry import RegistryServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "build"
COMPILE_ROUNDS = 2_000_000
"""The example's stand-in compile step, sized like a small real compile (~8 s here)."""
Row = tuple[str, str, str]


def _median(action: Callable[[], float], repeat: int) -> float:
    return statistics.median(action() for _ in range(repeat))


class Bench:
    """One scratch area: a copy of the example, stores under it, one registry."""

    def __init__(self, base: Path, registry: TestRegistry) -> None:
        self.base = base
        self.registry = registry
        self.context = base / "context"
        shutil.copytree(EXAMPLE, self.context)
        (self.context / "app" / "rounds").write_text(f"{COMPILE_ROUNDS}\n")
        runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/runner-{os.getuid()}")
        key = hashlib.sha256(str(base).encode()).hexdigest()[:8]
        self.runroots = runtime / "runner-bench" / key
        self.count = 0
        self.registries = (Registry(registry.host, ca_file=registry.ca_file),)

    def store(self, name: str) -> StoreSpec:
        return StoreSpec(self.base / "stores" / name, self.runroots / name)

    def fresh_store(self) -> StoreSpec:
        self.count += 1
        return self.store(f"s{self.count}")

    def build(self, store: StoreSpec, **changes: object) -> float:
        """One in-process build (as a build job runs it); seconds."""
        fields: dict[str, object] = {"tags": ("localhost/bench/hello:latest",), **changes}
        build = Build(context=".", **fields)  # type: ignore[arg-type]
        scratch = self.base / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        env = BuildEnv(store, authfile=self.registry.authfile)
        start = time.perf_counter()
        asyncio.run(build_image(build, self.context, scratch, env, registries=self.registries,
                                sink=lambda _: None, notice=lambda _: None))
        return time.perf_counter() - start

    def bare(self, argv: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, timeout=600)
        return time.perf_counter() - start

    def remove(self, store: StoreSpec) -> None:
        subprocess.run(["podman", "unshare", "rm", "-rf", str(store.root), str(store.runroot)],
                       check=True, capture_output=True, timeout=300)

    def close(self) -> None:
        subprocess.run(["podman", "unshare", "rm", "-rf", str(self.base / "stores"),
                        str(self.runroots)], check=False, capture_output=True, timeout=300)


def build_rows(base: Path, repeat: int) -> list[Row]:
    """The issue's four build figures and their targets."""
    server = RegistryServer(base / "registry")
    registry = server.start()
    bench = Bench(base / "b", registry)
    try:
        return _rows(bench, registry, repeat)
    finally:
        bench.close()
        server.stop()


def _rows(bench: Bench, registry: TestRegistry, repeat: int) -> list[Row]:
    rows: list[Row] = []

    def cold() -> float:
        store = bench.fresh_store()
        try:
            return bench.build(store)
        finally:
            bench.remove(store)

    cold_s = _median(cold, repeat)
    rows.append(("build: cold, examples/build (2 stages, empty store)", f"{cold_s:.3f} s",
                 f"(compile step: {COMPILE_ROUNDS:,} rounds of busybox sh)"))

    warm = bench.store("warm")
    bench.build(warm)
    ours = _median(lambda: bench.build(warm), repeat)
    bare_argv = ["buildah", *store_options(warm), "build", "--layers", "--tag",
                 "localhost/bench/hello:latest", str(bench.context)]
    bare = _median(lambda: bench.bare(bare_argv), repeat)
    verdict = "ok" if ours <= bare * 1.1 else "MISSED"
    rows.append(("build: unchanged rebuild (runner, in-process)", f"{ours:.3f} s",
                 f"<= {bare * 1.1:.3f} s (1.1x bare) {verdict}"))
    rows.append(("build: unchanged rebuild, bare buildah build --layers", f"{bare:.3f} s", ""))
    cli = _median(lambda: bench.bare([sys.executable, "-m", "runner", "build", "--build-storage",
                                      "shared", "--help"]), repeat)
    rows.append(("build: + runner command start (once per pipeline)", f"{cli:.3f} s", ""))

    cache = f"{registry.host}/bench/cache"
    bench.build(bench.fresh_store(), cache_to=cache)

    def from_cache() -> float:
        store = bench.fresh_store()
        try:
            return bench.build(store, cache_from=(cache,))
        finally:
            bench.remove(store)

    cached = _median(from_cache, repeat)
    rows.append(("build: empty store, layers from registry cache", f"{cached:.3f} s",
                 f">= 5x faster than cold: {cold_s / cached:.1f}x"
                 + (" ok" if cold_s / cached >= 5 else " MISSED")))
    rows += _push_rows(bench, registry, warm, repeat)
    return rows


def _push_rows(bench: Bench, registry: TestRegistry, warm: StoreSpec, repeat: int) -> list[Row]:
    """Runner's push (build job with push, minus the same build without) vs bare push."""
    counter = iter(range(10_000))

    def ours() -> float:
        tag = f"{registry.host}/bench/ours{next(counter)}:1"
        with_push = bench.build(warm, tags=(tag,), push=True)
        return with_push - bench.build(warm, tags=(tag,))

    def bare() -> float:
        tag = f"{registry.host}/bench/bare{next(counter)}:1"
        argv = ["buildah", *store_options(warm), "push", "--authfile", str(registry.authfile),
                "--cert-dir", str(registry.cert_dir), "localhost/bench/hello:latest",
                f"docker://{tag}"]
        return bench.bare(argv)

    ours_s, bare_s = _median(ours, repeat), _median(bare, repeat)
    return [("push: to a new repository (runner)", f"{ours_s:.3f} s",
             f"bare buildah push {bare_s:.3f} s")]
