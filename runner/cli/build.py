"""``runner build [CONTEXT]``: a safe, rootless ``docker build`` (and push) on its own.

The same builder as a pipeline's build job: no daemon, no socket,
credentials from the user's auth file (or ``--authfile``) and never from
argv. Build secrets are read from the environment (``--secret NAME``) into a
0600 file. Unlike a pipeline's builds, which a shared server keeps per tenant,
the image goes to the user's own podman store by default: the person at the
terminal builds for themselves and expects ``podman run TAG`` to find it
(``--build-storage project`` keeps the context's own store, and says how to
reach it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
from pathlib import Path

from runner.cli import EXIT_OK
from runner.cli.helptext import explain
from runner.engine.argv import StoreSpec, store_options
from runner.engine.imageref import why_not
from runner.errors import UsageError
from runner.pipeline.model import Build, Registry


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``build`` subcommand."""
    from runner.build.storage import MODES  # noqa: PLC0415

    parser = sub.add_parser(
        "build", help="build (and push) an image rootlessly with buildah",
        description="Build an image from a Containerfile/Dockerfile as this user, in a user "
        "namespace, with no daemon and no privileged socket; optionally push it. The image"
        " goes to your own podman store unless --build-storage project.")
    explain(parser, "build")
    parser.add_argument("context", nargs="?", type=Path, default=Path(),
                        help="build context directory (default: .)")
    parser.add_argument("-f", "--file", type=Path,
                        help="Containerfile (default: CONTEXT/Containerfile, else Dockerfile)")
    parser.add_argument("-t", "--tag", action="append", default=[], help="image name; repeat")
    parser.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--label", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--target", help="stage to build")
    parser.add_argument("--platform", help="e.g. linux/arm64")
    parser.add_argument("--push", action="store_true", help="push every --tag after the build")
    parser.add_argument("--cache-from", action="append", default=[], metavar="REPO",
                        help="registry repository to take layers from; repeat")
    parser.add_argument("--cache-to", metavar="REPO", help="registry repository to store layers")
    parser.add_argument("--no-layers", action="store_true", help="do not cache RUN layers")
    parser.add_argument("--isolation", choices=["rootless", "chroot"], default="rootless")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME",
                        help="offer environment variable NAME to RUN --mount=type=secret,id=NAME")
    parser.add_argument("--authfile", type=Path,
                        help="registry auth file (default: buildah's own lookup)")
    parser.add_argument("--registry-ca", action="append", default=[], metavar="HOST=FILE",
                        help="CA certificate for one registry; repeat")
    parser.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                        help="allow plain HTTP / unverified TLS for this registry only")
    parser.add_argument("--build-storage", choices=MODES, default="shared",
                        help="shared (default): your own podman store; project: a store of "
                        "this context's own, as pipelines on a shared server use")
    parser.add_argument("--runtime", help="OCI runtime for RUN steps (default: containers.conf)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Build, push, print the image id, tags and digests; 1 if the build or a push fails."""
    from runner.build.access import standard_authfile  # noqa: PLC0415
    from runner.build.builder import BuildEnv, build_image  # noqa: PLC0415
    from runner.build.diagnose import CLI_ADVICE  # noqa: PLC0415
    from runner.build.storage import store_roots, tenant_store  # noqa: PLC0415
    from runner.execute.layout import tenant_key  # noqa: PLC0415
    from runner.host.identity import refuse_root  # noqa: PLC0415

    refuse_root(os.environ)
    context = args.context.resolve()
    if not context.is_dir():
        raise UsageError(f"build context {args.context} is not a directory")
    if args.push and not args.tag:
        raise UsageError("--push needs at least one --tag to push to")
    for option, refs in (("--tag", args.tag), ("--cache-from", args.cache_from),
                         ("--cache-to", [args.cache_to] if args.cache_to else [])):
        for ref in refs:
            if (problem := why_not(ref)) is not None:
                raise UsageError(f"{option}: {problem}")
    secrets = {name: _env_secret(name) for name in args.secret}
    for name in secrets:  # read now: buildah and its children need not inherit them
        os.environ.pop(name)
    build = Build(
        context=str(context), containerfile=str(args.file.resolve()) if args.file else None,
        tags=tuple(args.tag), args=_pairs(args.build_arg, "--build-arg"),
        labels=_pairs(args.label, "--label"), target=args.target, platform=args.platform,
        push=args.push, cache_from=tuple(args.cache_from), cache_to=args.cache_to,
        layers=not args.no_layers, isolation=args.isolation,
    )
    registries = _registries(args.registry_ca, args.insecure_registry)
    store = None
    if args.build_storage == "project":
        stores, runroots = store_roots(os.environ, Path.home())
        tenant = tenant_key(context)
        store = tenant_store(stores, runroots, tenant)
    env = BuildEnv(store, args.runtime, authfile=args.authfile,
                   standard_authfile=standard_authfile(os.environ, Path.home()),
                   advice=CLI_ADVICE)

    def notice(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def sink(data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    with tempfile.TemporaryDirectory(prefix="runner-build-") as scratch:
        output = asyncio.run(build_image(
            build, Path("/"), Path(scratch), env, registries=registries, secrets=secrets,
            build_secrets=tuple(secrets), sink=sink, notice=notice))
    notice(_where(store, output.tags[0] if output.tags else output.image_id))
    print(f"image {output.image_id}")
    for tag in output.tags:
        print(f"tag {tag}")
    for destination, digest in output.pushed:
        print(f"pushed {destination}@{digest}")
    return EXIT_OK


def _where(store: StoreSpec | None, image: str) -> str:
    """Where the image is and the podman command line that reaches it."""
    if store is None:
        return f"runner: the image is in your podman store: podman run {image}"
    options = " ".join(shlex.quote(option) for option in store_options(store))
    return (f"runner: the image is in this context's own build store, not your podman store:"
            f" podman {options} run {image} (or build with --build-storage shared)")


def _pairs(items: list[str], flag: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{flag} wants NAME=VALUE, got {item!r}")
        pairs.append((name, value))
    return tuple(pairs)


def _env_secret(name: str) -> str:
    if name not in os.environ:
        raise UsageError(f"--secret {name}: the environment variable {name} is not set")
    return os.environ[name]


def _registries(cas: list[str], insecure: list[str]) -> list[Registry]:
    """Per-host CA files and insecure opt-ins as pipeline ``Registry`` entries."""
    files: dict[str, Path] = {}
    for item in cas:
        host, sep, file = item.partition("=")
        if not sep or not host or not file:
            raise UsageError(f"--registry-ca wants HOST=FILE, got {item!r}")
        files[host] = Path(file).resolve()
    hosts = list(dict.fromkeys([*files, *insecure]))
    return [Registry(host, ca_file=files.get(host), insecure=host in insecure) for host in hosts]
