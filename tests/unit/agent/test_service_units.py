"""Small pure pieces of the agent service."""

from __future__ import annotations

import pytest

from runner.agent.service import short_token


@pytest.mark.parametrize(("token", "short"), [
    # created in GitLab (glrt-), with and without a partition prefix
    ("glrt-t1_AbCdEfGhIjKlMnOpQrSt", "AbCdEfGhI"),
    ("glrt-t3_xyz987654321", "xyz987654"),
    ("glrt-AbCdEfGhIjKlMnOpQrSt", "AbCdEfGhI"),
    # registered with a legacy registration token
    ("glrtr-AbCdEfGhIjKlMn", "AbCdEfGhI"),
    # a partition prefix on its own
    ("t2_AbCdEfGhIjKlMn", "AbCdEfGhI"),
    # legacy runner tokens: no prefix at all, the first 9 characters
    ("xYz123abcDEF456ghi78", "xYz123abc"),
    ("3a9f1c0e7b2d", "3a9f1c0e7"),
    # shorter than 9 after the prefix: all of it
    ("glrt-abc", "abc"),
    ("abc", "abc"),
    ("", ""),
])
def test_short_token(token: str, short: str) -> None:
    assert short_token(token) == short


def test_short_token_keeps_a_t_that_is_not_a_partition_prefix() -> None:
    assert short_token("glrt-tx_abcdefghij") == "tx_abcdef"
    assert short_token("glrt-token1234567") == "token1234"
