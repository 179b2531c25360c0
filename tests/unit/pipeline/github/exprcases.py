"""Shared contexts for the expression tests: what a push build's step would see."""

from __future__ import annotations

import math

from runner.pipeline.github.expr import EvalContext, Value, parse

CONTEXTS: dict[str, Value] = {
    "github": {
        "ref": "refs/heads/main",
        "event_name": "push",
        "sha": "abc123",
        "event": {
            "commits": [
                {"id": "c1", "message": "fix: x", "author": {"name": "Mona"}},
                {"id": "c2", "message": "feat: y", "author": {"name": "Lisa"}},
                {"id": "c3", "message": "chore"},
            ],
            "head_commit": {"message": "Fix: CI"},
            "labels": {"bug": {"color": "red"}, "docs": {"color": "blue"}},
        },
    },
    "matrix": {"os": "ubuntu-latest", "python": "3.10", "node": 20, "experimental": True},
    "env": {"CI": "true", "EMPTY": "", "NUM": "42", "HEX": "0x1A", "SPACED": "  7  "},
    "steps": {
        "build": {
            "outputs": {"version": "1.2.3", "json": '{"a": [1, 2], "b": {"c": true}}'},
            "outcome": "success",
            "conclusion": "success",
        },
        "test": {"outputs": {}, "outcome": "failure", "conclusion": "success"},
    },
    "needs": {
        "setup": {"result": "success", "outputs": {"list": '["a","b"]'}},
        "lint": {"result": "failure", "outputs": {}},
    },
    "vars": {"Region": "eu"},
    "inputs": {"debug": True, "level": 3.0, "name": "x"},
    "strategy": {"fail-fast": True, "job-index": 0, "job-total": 4, "max-parallel": 4},
    "runner": {"os": "Linux", "arch": "X64", "temp": "/tmp"},
    "secrets": {"TOKEN": "s3cr3t"},
    "job": {"status": "success", "services": {"redis": {"ports": {"6379": "16379"}}}},
}

CTX = EvalContext(CONTEXTS)

NAN = object()
"""Expected value standing for NaN (which equals nothing, itself included)."""


def check(text: str, expected: object, ctx: EvalContext = CTX) -> None:
    """Evaluate ``text`` and compare with ``expected``, type included (True is not 1.0)."""
    got = parse(text).evaluate(ctx)
    if expected is NAN:
        assert isinstance(got, float)
        assert math.isnan(got), f"{text!r} gave {got!r}"
        return
    assert type(got) is type(expected), f"{text!r} gave {got!r}, expected {expected!r}"
    assert got == expected, f"{text!r} gave {got!r}, expected {expected!r}"
