"""harness/stack_trace.py gives every registration the stack trace the SDK's own function gives,
byte for byte, and is installed only on the pinned SDK."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version

import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

from harness import stack_trace
from tests.stack_runs import REPO, run_stack

NOW = datetime(2026, 6, 1, tzinfo=UTC)
Trace = Callable[[], source_pb2.StackTrace]


@pytest.fixture
def sdk_function() -> Iterator[None]:
    yield
    sdk_resource._get_stack_trace = stack_trace.UPSTREAM


def _compared(
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[source_pb2.StackTrace, source_pb2.StackTrace]]:
    """Ours and upstream's trace, computed at the same call, for every registration (compared
    after the run: an exception there would leave the SDK's futures unresolved)."""
    ours, pairs = stack_trace.stack_trace, []

    def both() -> source_pb2.StackTrace:
        pairs.append((ours(), stack_trace.UPSTREAM()))
        return pairs[-1][0]

    monkeypatch.setattr(stack_trace, "stack_trace", both)
    assert stack_trace.install()
    return pairs


@pytest.mark.usefixtures("sdk_function")
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
@pytest.mark.parametrize("preview", [False, True])
def test_every_registration_gets_upstreams_trace(
    monkeypatch: pytest.MonkeyPatch, stack: str, preview: bool
) -> None:
    pairs = _compared(monkeypatch)
    recording = run_stack(stack, clock=lambda: NOW, preview=preview)
    assert len(pairs) >= len(recording.registrations) > 10
    assert [m.SerializeToString() for m, _ in pairs] == [t.SerializeToString() for _, t in pairs]
    traces = [mine for mine, _ in pairs]
    # The source position the engine shows: the program's line that made the resource.
    program_lines = [t.frames[0].pc.uri for t in traces if t.frames and t.frames[0].HasField("pc")]
    assert any(uri.startswith((REPO / "components").as_uri()) for uri in program_lines)


def _depth(frames: int, innermost: Trace) -> source_pb2.StackTrace:
    return innermost() if frames == 0 else _depth(frames - 1, innermost)


class _Resource:
    """Three nested constructors, as Resource < CustomResource < a concrete class."""

    def __init__(self, innermost: Trace, level: int = 3) -> None:
        inner = None if level == 1 else _Resource(innermost, level - 1)
        self.trace: source_pb2.StackTrace = innermost() if inner is None else inner.trace


@pytest.mark.parametrize("limit", [None, 1, 3, 5, 12, 1000])
def test_shape_and_traceback_limit_as_upstream(
    monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    if limit is not None:
        monkeypatch.setattr(sys, "tracebacklimit", limit, raising=False)
    cases: list[Callable[[Trace], source_pb2.StackTrace]] = [
        lambda f: f(),  # no constructor on the stack: empty
        lambda f: _depth(5, f),
        lambda f: _Resource(f).trace,
        lambda f: _depth(7, lambda: _Resource(f).trace),
        lambda f: _Resource(f, level=2).trace,  # two constructors only: empty
    ]
    for case in cases:
        mine, theirs = case(stack_trace.stack_trace), case(stack_trace.UPSTREAM)
        assert mine.SerializeToString() == theirs.SerializeToString()
    # The function and three constructors come first: a limit under 5 leaves no caller.
    deep = _depth(7, lambda: _Resource(stack_trace.stack_trace).trace)
    assert (len(deep.frames) == 0) == (limit is not None and limit < 5)
    assert len(deep.frames) > 7 or limit is not None


def test_a_relative_file_name_has_no_position() -> None:
    code = compile("_Resource(make).trace", "<string>", "eval")
    mine, theirs = (
        eval(code, {"_Resource": _Resource, "make": make})
        for make in (stack_trace.stack_trace, stack_trace.UPSTREAM)
    )
    assert mine.frames and not mine.frames[0].HasField("pc")
    assert mine.SerializeToString() == theirs.SerializeToString()


@pytest.mark.usefixtures("sdk_function")
def test_installed_only_on_the_pinned_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_trace, "version", lambda _: "3.999.0")
    sdk_resource._get_stack_trace = stack_trace.UPSTREAM
    assert stack_trace.install() is False
    assert sdk_resource._get_stack_trace is stack_trace.UPSTREAM
    monkeypatch.setattr(stack_trace, "version", lambda _: stack_trace.PINNED)
    assert stack_trace.install() is True
    assert sdk_resource._get_stack_trace is stack_trace.stack_trace


def test_pinned_is_the_sdk_the_project_pins() -> None:
    requirements = (REPO / "requirements.txt").read_text().split()
    assert f"pulumi=={stack_trace.PINNED}" in requirements
    assert version("pulumi") == stack_trace.PINNED
