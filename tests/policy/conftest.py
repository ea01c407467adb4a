"""One policy-pack process per test module; the pack's modules importable like the engine
makes them (the pack directory on sys.path)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.analyzer import PolicyAnalyzer
from harness.pack_process import PackProcess

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))


@pytest.fixture(scope="module")
def analyzer() -> Iterator[PolicyAnalyzer]:
    """A configured pack (default config); modules needing other config make their own."""
    with PolicyAnalyzer(PackProcess(PACK_DIR)) as running:
        running.configure_stack()
        running.configure({})
        yield running
