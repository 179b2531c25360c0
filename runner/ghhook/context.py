"""What every hook command is given: where things live, and the step log."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.engine.slices import SliceAllocator


@dataclass(frozen=True)
class HookContext:
    """The host side of one hook call."""

    environ: dict[str, str]
    root: Path
    """The user's hook job dirs (``jobdir.hook_root``)."""
    slot_dir: Path
    """uid-slice leases, shared with ``runner exec`` and ``runner agent``."""
    subordinate_ids: int
    sink: Callable[[bytes], None]
    """The step log (the hook's stdout, which actions/runner shows)."""
    network: str | None = None

    def notice(self, text: str) -> None:
        self.sink((text + "\n").encode())

    def slices(self) -> SliceAllocator:
        return SliceAllocator(self.slot_dir, self.subordinate_ids)


def owner_record(runner: str, volumes: list[str]) -> str:
    """``owner.json`` of a job dir: whose job it is, and the process that asked for it.

    The parent of ``prepare_job`` is actions/runner's worker, which lives as
    long as the job: ``runner prune`` removes a job whose worker is gone.
    """
    parent = os.getppid()
    return json.dumps({"runner": runner, "volumes": volumes, "parent": parent,
                       "parent_start": process_start(parent)}) + "\n"


def process_start(pid: int) -> str:
    """A process's start time (field 22 of ``/proc/PID/stat``); empty if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text.rsplit(")", 1)[-1].split()[19] if ")" in text else ""
