"""A ``Messages`` that records every call in order, for session tests."""

from __future__ import annotations


class Recorder:
    """Keeps each Messages call as a tuple; ``text()`` joins what was written."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data.decode()))

    def group(self, title: str) -> None:
        self.calls.append(("group", title))

    def end_group(self) -> None:
        self.calls.append(("end_group",))

    def notice(self, text: str) -> None:
        self.calls.append(("notice", text))

    def add_mask(self, value: str) -> None:
        self.calls.append(("add_mask", value))

    def annotate(self, level: str, text: str, where: str | None) -> None:
        self.calls.append(("annotate", level, text, where or ""))

    def debug(self, text: str) -> None:
        self.calls.append(("debug", text))

    def text(self) -> str:
        return "".join(call[1] for call in self.calls if call[0] == "write")

    def of(self, kind: str) -> list[tuple[str, ...]]:
        return [call[1:] for call in self.calls if call[0] == kind]
