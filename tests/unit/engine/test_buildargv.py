"""Whole-list asserts for every buildah argv builder and the store options podman shares."""

from __future__ import annotations

from pathlib import Path

from runner.engine import argv
from runner.engine.argv import StoreSpec
from runner.engine.buildargv import (
    BuildSpec,
    RegistryAccess,
    build_argv,
    copy_in_argv,
    image_id_argv,
    pull_argv,
    push_argv,
    store_info_argv,
)

STORE = StoreSpec(Path("/home/u/.local/share/runner/builds/t1"),
                  Path("/run/user/1001/runner/builds/t1"))
STORE_OPTS = ["--root", "/home/u/.local/share/runner/builds/t1",
              "--runroot", "/run/user/1001/runner/builds/t1", "--storage-driver", "overlay"]
RETRY = ["--retry", "3", "--retry-delay", "2s"]


def _spec(**over: object) -> BuildSpec:
    fields: dict[str, object] = {
        "context": Path("/w/ws/app"), "containerfile": Path("/w/ws/app/Containerfile"),
        "iidfile": Path("/w/scratch/iid"),
    }
    fields.update(over)
    return BuildSpec(**fields)  # type: ignore[arg-type]


# -- store options (argv.py) ---------------------------------------------------


def test_store_options_default_store_is_empty() -> None:
    """The user's default store needs no option at all."""
    assert argv.store_options(None) == []


def test_store_options_select_root_runroot_and_driver() -> None:
    """A tenant store is named by root, runroot and driver (overlay unless told)."""
    assert argv.store_options(STORE) == STORE_OPTS
    vfs = StoreSpec(Path("/s"), Path("/r"), driver="vfs")
    assert argv.store_options(vfs) == ["--root", "/s", "--runroot", "/r", "--storage-driver",
                                       "vfs"]


def test_global_options_store_before_runtime() -> None:
    """Store options come first, then the runtime; either may be absent."""
    assert argv.global_options(None) == []
    assert argv.global_options("crun") == ["--runtime", "crun"]
    assert argv.global_options(None, STORE) == STORE_OPTS
    assert argv.global_options("crun", STORE) == [*STORE_OPTS, "--runtime", "crun"]


def test_job_container_argv_with_store() -> None:
    """A job running a built image selects the tenant store before ``run``."""
    spec = argv.ContainerSpec(
        name="runner-r1-use-1", image="0123abcd", run_id="r1", job="use",
        workspace=Path("/p/w/ws"), project_dir="/builds/p", control=Path("/p/w/ctl"),
        pidfile=Path("/p/w/pid"), id_base=65537, runtime="crun", store=STORE,
    )
    assert argv.job_container_argv(spec, "SUP") == [
        "podman", *STORE_OPTS, "--runtime", "crun", "run", "--rm", "--interactive",
        "--name=runner-r1-use-1",
        "--label", "io.github.runner.run=r1", "--label", "io.github.runner.job=use",
        "--uidmap", "0:65537:65536", "--gidmap", "0:65537:65536",
        "--cap-drop", "all", "--cap-add",
        "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_BIND_SERVICE,SETFCAP,SETGID,SETPCAP,SETUID,"
        "SYS_CHROOT",
        "--security-opt", "no-new-privileges", "--http-proxy=false",
        "--log-driver", "none", "--pull=missing", "--pidfile", "/p/w/pid",
        "--image-volume", "ignore", "--security-opt", "mask=/sys/fs/cgroup",
        "--volume", "/p/w/ws:/builds/p", "--volume", "/p/w/ctl:/.runner",
        "--workdir", "/", "--entrypoint", "/bin/sh", "--", "0123abcd", "-c", "SUP",
    ]


def test_signal_argv_with_store() -> None:
    """A container in a tenant store is signalled through that store."""
    assert argv.signal_argv("c1", "TERM", store=STORE) == [
        "podman", *STORE_OPTS, "kill", "--signal", "TERM", "--", "c1",
    ]
    assert argv.signal_argv("c1", "KILL", "runc", STORE) == [
        "podman", *STORE_OPTS, "--runtime", "runc", "kill", "--signal", "KILL", "--", "c1",
    ]


def test_force_remove_argv_with_store() -> None:
    """Removal of containers in a tenant store goes through that store."""
    assert argv.force_remove_argv(["a", "b"], store=STORE) == [
        "podman", *STORE_OPTS, "rm", "--force", "--ignore", "--time", "0", "--", "a", "b",
    ]
    assert argv.force_remove_argv(["a"], "crun", STORE) == [
        "podman", *STORE_OPTS, "--runtime", "crun", "rm", "--force", "--ignore", "--time", "0",
        "--", "a",
    ]


# -- RegistryAccess --------------------------------------------------------------


def test_registry_access_default_adds_nothing() -> None:
    """Without an auth file, CA dir or opt-out, buildah's own defaults apply."""
    assert RegistryAccess().options() == []


def test_registry_access_every_option() -> None:
    """Auth file, CA dir and the TLS opt-out, in that order."""
    access = RegistryAccess(Path("/w/scratch/auth.json"), Path("/w/scratch/certs-0"),
                            tls_verify=False)
    assert access.options() == [
        "--authfile", "/w/scratch/auth.json", "--cert-dir", "/w/scratch/certs-0",
        "--tls-verify=false",
    ]


def test_registry_access_single_options() -> None:
    """Each option appears alone when only it is set."""
    assert RegistryAccess(authfile=Path("/a.json")).options() == ["--authfile", "/a.json"]
    assert RegistryAccess(cert_dir=Path("/c")).options() == ["--cert-dir", "/c"]
    assert RegistryAccess(tls_verify=False).options() == ["--tls-verify=false"]


# -- build_argv ------------------------------------------------------------------


def test_build_argv_minimal() -> None:
    """Defaults: layers on, rootless isolation, pull only missing, retries, the iid file."""
    assert build_argv(_spec()) == [
        "buildah", "build", "--layers=true", "--isolation", "rootless",
        "--pull=missing", "--iidfile", "/w/scratch/iid", *RETRY,
        "--file", "/w/ws/app/Containerfile", "--", "/w/ws/app",
    ]


def test_build_argv_every_option() -> None:
    """Every field set: store first, then each option in a fixed order, context last."""
    spec = _spec(
        tags=("reg.example.com/app:1", "reg.example.com/app:latest"),
        args=(("BASE", "alpine"), ("V", "a b=c")),
        labels=(("org.opencontainers.image.source", "https://x"), ("team", "t")),
        target="final", platform="linux/arm64/v8", layers=True, isolation="rootless",
        cache_from=("reg.example.com/cache", "reg.example.com/cache2"),
        cache_to="reg.example.com/cache",
        secrets=(("npmrc", Path("/w/scratch/secret-npmrc")),
                 ("TOKEN", Path("/w/scratch/secret-TOKEN"))),
        access=RegistryAccess(Path("/w/scratch/auth.json"), Path("/w/scratch/certs-build")),
        store=STORE, runtime="crun", pull="always",
    )
    assert build_argv(spec) == [
        "buildah", *STORE_OPTS, "build", "--layers=true", "--isolation", "rootless",
        "--pull=always", "--iidfile", "/w/scratch/iid", *RETRY, "--runtime", "crun",
        "--file", "/w/ws/app/Containerfile",
        "--tag=reg.example.com/app:1", "--tag=reg.example.com/app:latest",
        "--build-arg=BASE=alpine", "--build-arg=V=a b=c",
        "--label=org.opencontainers.image.source=https://x", "--label=team=t",
        "--target=final", "--platform=linux/arm64/v8",
        "--cache-from=reg.example.com/cache", "--cache-from=reg.example.com/cache2",
        "--cache-to=reg.example.com/cache",
        "--secret", "id=npmrc,src=/w/scratch/secret-npmrc",
        "--secret", "id=TOKEN,src=/w/scratch/secret-TOKEN",
        "--authfile", "/w/scratch/auth.json", "--cert-dir", "/w/scratch/certs-build",
        "--", "/w/ws/app",
    ]


def test_build_argv_without_layers() -> None:
    """``layers: false`` is passed explicitly (buildah's default differs by version)."""
    assert build_argv(_spec(layers=False)) == [
        "buildah", "build", "--layers=false", "--isolation", "rootless",
        "--pull=missing", "--iidfile", "/w/scratch/iid", *RETRY,
        "--file", "/w/ws/app/Containerfile", "--", "/w/ws/app",
    ]


def test_build_argv_chroot_isolation() -> None:
    """Chroot isolation replaces rootless, nothing else changes."""
    assert build_argv(_spec(isolation="chroot")) == [
        "buildah", "build", "--layers=true", "--isolation", "chroot",
        "--pull=missing", "--iidfile", "/w/scratch/iid", *RETRY,
        "--file", "/w/ws/app/Containerfile", "--", "/w/ws/app",
    ]


def test_build_argv_secrets_are_paths_never_values() -> None:
    """A build secret is an id and a file path; the value is never in argv."""
    got = build_argv(_spec(secrets=(("TOKEN", Path("/w/scratch/secret-TOKEN")),)))
    assert got == [
        "buildah", "build", "--layers=true", "--isolation", "rootless",
        "--pull=missing", "--iidfile", "/w/scratch/iid", *RETRY,
        "--file", "/w/ws/app/Containerfile",
        "--secret", "id=TOKEN,src=/w/scratch/secret-TOKEN", "--", "/w/ws/app",
    ]


def test_build_argv_registry_access_insecure() -> None:
    """Registry access options go after everything else, just before the context."""
    access = RegistryAccess(Path("/w/scratch/auth.json"), Path("/w/scratch/certs-build"),
                            tls_verify=False)
    assert build_argv(_spec(access=access)) == [
        "buildah", "build", "--layers=true", "--isolation", "rootless",
        "--pull=missing", "--iidfile", "/w/scratch/iid", *RETRY,
        "--file", "/w/ws/app/Containerfile",
        "--authfile", "/w/scratch/auth.json", "--cert-dir", "/w/scratch/certs-build",
        "--tls-verify=false", "--", "/w/ws/app",
    ]


# -- push, inspect, copy, info --------------------------------------------------------


def test_push_argv_default_store() -> None:
    """A push names the local image and a docker:// destination, writes the digest file."""
    assert push_argv("sha256:abc", "127.0.0.1:5000/app:1", Path("/w/scratch/digest"),
                     RegistryAccess()) == [
        "buildah", "push", *RETRY, "--digestfile", "/w/scratch/digest",
        "--", "sha256:abc", "docker://127.0.0.1:5000/app:1",
    ]


def test_push_argv_store_and_access() -> None:
    """Store options before ``push``; access options before the image and destination."""
    access = RegistryAccess(Path("/w/scratch/auth.json"), Path("/w/scratch/certs-0"),
                            tls_verify=False)
    assert push_argv("abc123", "reg.example.com/team/app:latest", Path("/w/scratch/digest"),
                     access, STORE) == [
        "buildah", *STORE_OPTS, "push", *RETRY, "--digestfile", "/w/scratch/digest",
        "--authfile", "/w/scratch/auth.json", "--cert-dir", "/w/scratch/certs-0",
        "--tls-verify=false", "--", "abc123", "docker://reg.example.com/team/app:latest",
    ]


def test_image_id_argv() -> None:
    """The image id comes from ``buildah inspect`` of type image, in the given store."""
    assert image_id_argv("localhost/busybox:latest") == [
        "buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}",
        "--", "localhost/busybox:latest",
    ]
    assert image_id_argv("alpine", STORE) == [
        "buildah", *STORE_OPTS, "inspect", "--type", "image", "--format", "{{.FromImageID}}",
        "--", "alpine",
    ]


def test_copy_in_argv() -> None:
    """A copy pulls from the source store's containers-storage transport into the target."""
    source = StoreSpec(Path("/home/u/.local/share/containers/storage"),
                       Path("/run/user/1001/containers"), driver="vfs")
    assert copy_in_argv("localhost/busybox:latest", source, STORE) == [
        "buildah", *STORE_OPTS, "pull", "--quiet", "--policy", "always",
        "--", "containers-storage:[vfs@/home/u/.local/share/containers/storage"
        "+/run/user/1001/containers]localhost/busybox:latest",
    ]


def test_pull_argv_fetches_from_the_registry_into_the_store_with_access() -> None:
    """A pull always asks the registry (the caller decided it is needed), with retries;
    credentials and CAs only as file paths; progress stays on for the job log."""
    assert pull_argv("127.0.0.1:5000/team/app:1", RegistryAccess()) == [
        "buildah", "pull", "--policy", "always", *RETRY, "--", "docker://127.0.0.1:5000/team/app:1",
    ]
    access = RegistryAccess(Path("/w/registry/auth.json"), Path("/w/registry/certs-build"))
    assert pull_argv("reg.example.com/team/app@sha256:ab", access, STORE) == [
        "buildah", *STORE_OPTS, "pull", "--policy", "always", *RETRY,
        "--authfile", "/w/registry/auth.json", "--cert-dir", "/w/registry/certs-build",
        "--", "docker://reg.example.com/team/app@sha256:ab",
    ]


def test_store_info_argv() -> None:
    """The default store is read from buildah info: driver, graph root, run root."""
    assert store_info_argv() == [
        "buildah", "info", "--format",
        "{{.store.GraphDriverName}}\n{{.store.GraphRoot}}\n{{.store.RunRoot}}",
    ]
