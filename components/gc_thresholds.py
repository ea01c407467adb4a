"""The garbage collector's thresholds for a process that builds a large resource graph.

Building the graph allocates container objects (Outputs, futures, protobuf wrappers) by the
hundred thousand and keeps most of them to the end of the run. With CPython's default
thresholds (700, 10, 10) the collector traversed them again and again: 15 % of the program's
run at 300 nodes, 17 % at 1,000 (docs/benchmarks.md, F9). A young generation of 50,000 cuts
that to about 2 % (300 nodes) and 6 % (1,000) for a few MiB more peak memory. Cycles are still
collected; only less often.

Process entry points apply them (`__main__.py` for `pulumi up`, preflight); the program itself
does not, so that importing it changes nothing.
"""

from __future__ import annotations

import gc

LARGE_GRAPH = (50_000, 20, 10)


def apply() -> None:
    gc.set_threshold(*LARGE_GRAPH)
