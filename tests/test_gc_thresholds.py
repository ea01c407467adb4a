"""The collector thresholds the entry points set (components/gc_thresholds.py; that they set
them is checked in test_program.py and test_preflight.py): they spare the collector most of
its passes over a program run, and a run registers the same resources, with inputs of the same
keys, under them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from components import gc_thresholds
from harness.mock_runtime import Recording, reveal
from tests.stack_runs import run_stack

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def _collections_during(work: Any) -> tuple[Recording, int]:
    passes = [0]

    def count(phase: str, info: dict[str, int]) -> None:
        passes[0] += phase == "start"

    gc.callbacks.append(count)
    try:
        recording = work()
    finally:
        gc.callbacks.remove(count)
    return recording, passes[0]


def _inputs(recording: Recording) -> dict[str, Any]:
    return {r.urn: reveal(r.inputs) for r in recording.registrations}


@pytest.mark.usefixtures("thresholds")
def test_a_run_needs_far_fewer_collections_and_registers_the_same() -> None:
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    default, default_passes = _collections_during(lambda: run_stack("dev", clock=lambda: NOW))
    gc_thresholds.apply()
    tuned, tuned_passes = _collections_during(lambda: run_stack("dev", clock=lambda: NOW))
    assert gc.get_threshold() == gc_thresholds.LARGE_GRAPH
    assert tuned_passes * 10 < default_passes
    # Keys differ between runs; which resources, and the shape of their inputs, do not.
    assert _inputs(tuned).keys() == _inputs(default).keys()
    assert {u: sorted(i) for u, i in _inputs(tuned).items()} == {
        u: sorted(i) for u, i in _inputs(default).items()}
