"""Goal 2: the policy pack over gRPC on an N-node stack: per-resource Analyze and AnalyzeStack.

`python -m bench.policy [--nodes 1000]` runs the program once under the mock runtime, then drives
the pack exactly as preflight does (harness/analyzer.py: a pack process, the engine's calls) and
times each Analyze (p50, p99, max, total) and the one AnalyzeStack.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time

from bench import workload
from components.program import main as program
from harness.analyzer import PolicyAnalyzer
from harness.mock_runtime import run_program
from harness.pack_process import PackProcess
from harness.policy_run import records_of


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.policy")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 nodes")
    args = parser.parse_args(argv)
    nodes = 100 if args.quick else args.nodes
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as out, contextlib.chdir(out):
        clusters = workload.clusters(nodes, output_dir=out)
        recording = run_program(program, config=workload.config(clusters), stack="bench")
    records = records_of(recording)
    start = time.perf_counter()
    with PolicyAnalyzer(PackProcess(stack="bench")) as analyzer:
        analyzer.handshake()
        analyzer.configure_stack()
        analyzer.configure({})
        started = time.perf_counter() - start
        samples = []
        for record in records:
            begin = time.perf_counter()
            analyzer.analyze(record)
            samples.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        diagnostics = analyzer.analyze_stack(records)
        stack_s = time.perf_counter() - begin
    print(f"{nodes} nodes, {len(records)} resources; pack start + configure {started:.2f} s")
    print(f"Analyze      p50 {statistics.median(samples) * 1e3:6.2f} ms  "
          f"p99 {percentile(samples, 0.99) * 1e3:6.2f} ms  max {max(samples) * 1e3:6.2f} ms  "
          f"total {sum(samples):6.2f} s")
    print(f"AnalyzeStack {stack_s:6.2f} s (goal ≤ 2 s), {len(diagnostics)} diagnostics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
