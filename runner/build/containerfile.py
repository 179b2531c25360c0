"""Just enough Containerfile reading to find the file, seed base images and point at lines.

buildah reports a failed step as ``[2/3] STEP 4/5: RUN ...`` (stage 2 of 3,
step 4 of 5 in it) without a line number, so the instructions are numbered
the same way here to name the line that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NAMES = ("Containerfile", "Dockerfile")
_STEP = re.compile(r"^(?:\[(\d+)/\d+\] )?STEP (\d+)/\d+: (.*)$")
_ESCAPE = re.compile(r"^#\s*escape\s*=\s*(\S)\s*$", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^#\s*[A-Za-z]+\s*=")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its stage (1-based; 0 before the first FROM), step and first line."""

    stage: int
    step: int
    line: int
    text: str


def find(context: Path, given: Path | None) -> Path | None:
    """The Containerfile to build: ``given``, else Containerfile, else Dockerfile in context."""
    if given is not None:
        return given if given.is_file() else None
    for name in NAMES:
        if (context / name).is_file():
            return context / name
    return None


def instructions(text: str) -> list[Instruction]:
    """Instructions with the stage/step numbers buildah prints, joined across continuations."""
    escape = "\\"
    found: list[Instruction] = []
    stage, step = 0, 0
    pending: list[str] = []
    start = 0
    directives = True
    """Parser directives (``# name=value``) may only open the file, before anything else."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if directives:
            if m := _ESCAPE.match(line):
                escape = m.group(1)
                continue
            directives = bool(_DIRECTIVE.match(line))
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        elif not line.strip() or line.lstrip().startswith("#"):
            continue  # blank and comment lines inside a continuation are skipped
        if line.endswith(escape):
            pending.append(line[: -len(escape)])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending)
        pending = []
        if joined.split(None, 1)[0].upper() == "FROM":
            stage, step = stage + 1, 0
        step += 1
        found.append(Instruction(stage, step, start, joined))
    return found


def base_images(text: str) -> list[str]:
    """Images the stages start from, minus ``scratch``, earlier stage names and ``$ARG`` ones."""
    stages: set[str] = set()
    bases: list[str] = []
    for ins in instructions(text):
        if ins.stage == 0 or ins.step != 1:  # stage 0: ARGs before the first FROM
            continue
        words = [w for w in ins.text.split()[1:] if not w.startswith("--")]
        if not words:
            continue
        image = words[0]
        if len(words) >= 3 and words[1].lower() == "as":
            stages.add(words[2].lower())
        if image.lower() == "scratch" or "$" in image or image.lower() in stages:
            continue
        if image not in bases:
            bases.append(image)
    return bases


@dataclass(frozen=True)
class Progress:
    """Which step buildah is at, from its ``STEP`` lines."""

    stage: int
    step: int
    text: str


def progress(line: str) -> Progress | None:
    """The step a buildah output line announces, if it is a STEP line."""
    m = _STEP.match(line.strip())
    if m is None:
        return None
    return Progress(int(m.group(1) or 1), int(m.group(2)), m.group(3))


def line_of(text: str, at: Progress) -> int | None:
    """The Containerfile line of the step buildah was at; None if the numbering disagrees.

    With ``--target`` buildah numbers only the stages it builds, which need not
    be the first ones, so a step whose text does not match is not guessed at.
    """
    wanted = " ".join(at.text.split())
    for ins in instructions(text):
        if ins.stage == at.stage and ins.step == at.step and " ".join(ins.text.split()) == wanted:
            return ins.line
    for ins in instructions(text):  # fall back to the one instruction with that text
        if " ".join(ins.text.split()) == wanted and ins.step == at.step:
            return ins.line
    return None
