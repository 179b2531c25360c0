"""One job's output stream: masked once, then shown live and written to its log file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from runner.logs.console import Console
from runner.logs.coverage import CoverageScanner
from runner.logs.mask import Masker
from runner.logs.tail import Tail


class JobLog:
    """Lives as long as the job (all attempts); every byte goes through the masker first."""

    def __init__(self, job: str, path: Path, console: Console, secrets: list[str],
                 mask: str = "[MASKED]") -> None:
        self.job = job
        self._console = console
        self._masker = Masker(secrets, mask.encode())
        self._coverage: CoverageScanner | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a log path is never a link someone planted to steer our writes.
        self._file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                                       | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644), "wb")
        self._line_open = False
        """The file's last byte is not a newline: a notice must start its own line."""
        self._tail = Tail()
        """The file's last lines, for the summary when the job fails."""
        self._folding = False
        """Inside a group on a folding console: output goes to the file only."""

    def scan_coverage(self, regex: re.Pattern[str]) -> None:
        """Look for coverage figures in the output from now on (a new attempt starts afresh)."""
        self._coverage = CoverageScanner(regex)

    @property
    def coverage(self) -> str | None:
        """The last coverage figure in the (masked) output since ``scan_coverage``."""
        return self._coverage.figure if self._coverage is not None else None

    def tail(self) -> tuple[str, ...]:
        """The log file's last lines so far (masked, as written)."""
        return self._tail.lines()

    def output(self, data: bytes) -> None:
        """Job output as it arrives."""
        out = self._masker.feed(data)
        if out:
            self._emit(out)

    def end_stream(self) -> None:
        """A script's stream ended: release whatever the masker held back."""
        rest = self._masker.flush()
        if rest:
            self._emit(rest)
        if self._coverage is not None:
            self._coverage.end()
        self._console.end(self.job)

    def notice(self, text: str) -> None:
        """A line from runner itself about this job.

        The masker keeps what it holds back: releasing it here would let a
        secret split around a notice out in two unmasked halves.
        """
        self._console.end(self.job)
        masked = self._masker.mask(text.encode())
        self._console.notice(self.job, masked.decode())
        if self._line_open:
            self._write(b"\n")
            self._line_open = False
        self._write(masked + b"\n")
        self._file.flush()

    def masked(self, text: str) -> str:
        """``text`` with every value this log masks masked (for a summary outside the log)."""
        return self._masker.mask(text.encode()).decode("utf-8", "replace")

    def add_mask(self, value: str) -> None:
        """Mask ``value`` in this log from now on (GitHub's ``::add-mask::``)."""
        self._masker.add(value)

    def group(self, title: str) -> None:
        """Start a group: its title always shows, its lines fold on a folding console."""
        self.end_group()
        self.notice(f"\u25b8 {title}")
        self._folding = self._console.fold

    def end_group(self) -> None:
        """End the current group, if any."""
        if self._folding:
            self.end_stream_partial()
        self._folding = False

    def end_stream_partial(self) -> None:
        """Let out what the masker holds (at a group's edge), as ``end_stream`` does."""
        rest = self._masker.flush()
        if rest:
            self._emit(rest)

    def debug(self, text: str) -> None:
        """A ``::debug::`` line: always in the file, on the console only with ``-v``."""
        masked = self._masker.mask(f"##[debug]{text}".encode())
        if self._console.debug:
            self._console.notice(self.job, masked.decode())
        if self._line_open:
            self._write(b"\n")
            self._line_open = False
        self._write(masked + b"\n")
        self._file.flush()

    def close(self) -> None:
        """Flush and close the log file."""
        self.end_stream()
        self._file.close()

    def _emit(self, out: bytes) -> None:
        if not self._folding:
            self._console.output(self.job, out)
        self._write(out)
        self._line_open = not out.endswith(b"\n")
        self._file.flush()
        if self._coverage is not None:
            self._coverage.feed(out)

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._tail.feed(data)
