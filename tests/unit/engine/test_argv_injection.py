"""No value a tenant controls can be read as an option by podman or buildah (issue 14, H1).

Every builder that takes a tenant's text (image names, tags, cache refs, build
args and labels, targets, entrypoints, commands, container, pod and job names,
host aliases) is fed values that begin with ``-`` in every such field at once.
``ImageRef`` refuses such values before any builder sees them; here they are
forced past it (``str.__new__``), as a bug in the parser would let them
through, so the builders' own defence is what is tested: a tenant's value may
stand before the ``--`` that ends options only inside an element that begins
with something of ours (``--tag=...``, ``io.github.runner.job=...``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.engine import argv, buildargv, podargv
from runner.engine.imageref import ImageRef

EVIL = "--volume=/:/h"
"""What the H1 attack smuggled: a mount of the host's root, as a tenant's value."""


def forged(text: str = EVIL) -> ImageRef:
    """An ``ImageRef`` that never went through the parser (what a parser bug would give)."""
    return str.__new__(ImageRef, text)


STORE = argv.StoreSpec(Path("/d/store"), Path("/run/store"))
ACCESS = buildargv.RegistryAccess(Path("/w/auth.json"), Path("/w/certs"))
POD = podargv.PodSpec(name=EVIL, run_id="r1", job=EVIL, id_base=65537, hosts=(EVIL,),
                      store=STORE)
BUILDERS: dict[str, Callable[[], list[str]]] = {
    "job container": lambda: argv.job_container_argv(argv.ContainerSpec(
        name=EVIL, image=forged(), run_id="r1", job=EVIL, workspace=Path("/w/ws"),
        project_dir="/builds/p", control=Path("/w/ctl"), pidfile=Path("/w/pid"),
        id_base=65537, pod=EVIL), EVIL),
    "signal": lambda: argv.signal_argv(EVIL, "TERM", "runc", STORE),
    "force remove": lambda: argv.force_remove_argv([EVIL, EVIL], "runc", STORE),
    "written paths": lambda: argv.written_paths_argv(EVIL, "runc", STORE),
    "image inspect": lambda: argv.image_inspect_argv(forged()),
    "pod create": lambda: podargv.pod_create_argv(POD),
    "service": lambda: podargv.service_argv(POD, podargv.ServiceSpec(
        name=EVIL, image=forged(), env_file=Path("/w/env"), entrypoint=(EVIL, EVIL),
        command=(EVIL, EVIL))),
    "pod remove": lambda: podargv.pod_remove_argv(EVIL, "runc", STORE),
    "exposed ports": lambda: podargv.exposed_ports_argv([forged(), forged()], STORE),
    "logs": lambda: podargv.logs_argv(EVIL, 5, STORE),
    "state": lambda: podargv.state_argv(EVIL, STORE),
    "build": lambda: buildargv.build_argv(buildargv.BuildSpec(
        context=Path(EVIL), containerfile=Path("/w/Containerfile"), iidfile=Path("/w/iid"),
        tags=(forged(), forged()), args=((EVIL, EVIL),), labels=((EVIL, EVIL),),
        target=EVIL, platform=EVIL, cache_from=(forged(),), cache_to=forged(),
        secrets=((EVIL, Path("/w/secret")),), access=ACCESS, store=STORE)),
    "push": lambda: buildargv.push_argv(forged(), forged(), Path("/w/digest"), ACCESS, STORE),
    "image id": lambda: buildargv.image_id_argv(forged(), STORE),
    "copy in": lambda: buildargv.copy_in_argv(forged(), STORE, STORE),
    "pull": lambda: buildargv.pull_argv(forged(), ACCESS, STORE),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_tenant_value_can_be_read_as_an_option(name: str) -> None:
    """Before ``--`` no element begins with a tenant's value; the value did reach argv."""
    built = BUILDERS[name]()
    assert any(EVIL in element for element in built), f"{name}: the value never reached argv"
    end = built.index("--") if "--" in built else len(built)
    options = built[:end]
    assert [element for element in options if element.startswith(EVIL)] == [], built


def test_the_parser_refuses_what_the_attack_used() -> None:
    """The first line of defence: no reference of the grammar begins with '-'."""
    for text in (EVIL, "--label=x.y/z", "-x", "--pod=", "-"):
        with pytest.raises(ValueError, match="is not an image reference"):
            ImageRef(text)
