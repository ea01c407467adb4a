"""Goal 6: a no-op `up`. Two runs, same config, one EngineState, one clock.

`python -m bench.noop [--nodes 100]` counts the resources whose recorded inputs differ between
the runs (goal 0), prints the second run's step summary (goal: every resource "same") and the
time of each run.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime

from bench import workload
from components.program import main as program
from harness.mock_runtime import EngineState, Recording, reveal, run_program

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.noop")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="10 nodes")
    args = parser.parse_args(argv)
    nodes = 10 if args.quick else args.nodes
    state = EngineState()
    runs: list[Recording] = []
    times = []
    # One project directory for both runs, as two `pulumi up`s of one checkout.
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as out, contextlib.chdir(out):
        config = workload.config(workload.clusters(nodes, output_dir=out))
        for _ in range(2):
            start = time.perf_counter()
            runs.append(run_program(lambda: program(lambda: NOW), config=config,
                                    stack="bench", state=state, clock=lambda: NOW))
            times.append(time.perf_counter() - start)
    first = {r.urn: reveal(r.inputs) for r in runs[0]}
    second = {r.urn: reveal(r.inputs) for r in runs[1]}
    differing = sorted(u for u in first.keys() | second.keys() if first.get(u) != second.get(u))
    steps = Counter(r.step for r in runs[1])
    changes = runs[1].changes
    print(f"{nodes} nodes, {len(second)} resources: first run {times[0]:.2f} s, "
          f"no-op run {times[1]:.2f} s")
    print(f"resources whose inputs differ: {len(differing)} (goal 0)")
    for urn in differing[:10]:
        print(f"  {urn}")
    print(f"no-op steps: {dict(steps)}; deleted {len(changes.deleted)} "
          f"(goal: all same, none deleted)")
    return 0 if not differing and set(steps) == {"same"} and not changes.deleted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
