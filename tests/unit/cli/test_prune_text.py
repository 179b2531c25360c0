"""What ``runner prune`` says: sizes, ages and a summary that reads as a sentence."""

from __future__ import annotations

from runner.cli.prune import Item, ago, human_size, span, summary

DAY = 86400


def _item(verdict: str, size: int) -> Item:
    return Item("t", "/p", size, 0.0, verdict)


def test_sizes_and_ages_as_people_read_them() -> None:
    assert [human_size(n) for n in (0, 1000, 4096, 3 << 20, (12 << 30) // 10)] == [
        "0 B", "1000 B", "4 KiB", "3.0 MiB", "1.2 GiB"]
    assert [ago(s) for s in (5, DAY, 40 * DAY + 5)] == ["today", "1 day ago", "40 days ago"]
    assert [span(s) for s in (30 * DAY, 12 * 3600, 0, 90)] == [
        "30 days", "12 hours", "0 seconds", "90 seconds"]


def test_summary_is_one_sentence() -> None:
    items = [_item("would remove", 1 << 30), _item("would remove", 1 << 29),
             _item("would remove", 0), _item("in use", 5), _item("recent", 7)]
    assert summary(items, "project stores", 30 * DAY, dry_run=True, in_use=True) == (
        "would remove 3 of 5 project stores, 1.5 GiB; keeping 2 in use or used within 30 days")
    done = [_item("removed", 1 << 20), _item("failed: busy", 1 << 20), _item("recent", 0)]
    assert summary(done, "project caches", DAY, dry_run=False, in_use=False) == (
        "removed 1 of 3 project caches, 1.0 MiB; keeping 2 used within 1 day "
        "(1 could not be removed)")
