"""Goals 3 and 4: `python -m preflight` end to end, and preflight versus the openssl CLI.

`python -m bench.preflight_path [--nodes 100] [--repeat 3]` times, as a user runs them (fresh
processes, wall clock): preflight on the dev stack; preflight `--out` on one N-node VM cluster;
and bench/openssl_path.sh creating the same CA and N node certificates, in each of its styles
(three commands per node, the same without the system trust store, one command per node).
Preflight and openssl alternate, so noise hits both alike; medians are reported with the ratio
preflight/openssl per style.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench import workload

REPO = Path(__file__).resolve().parent.parent
OPENSSL_PATH = REPO / "bench" / "openssl_path.sh"
# How bench/openssl_path.sh makes each node's certificate; goal 4 names the classic loop.
OPENSSL_STYLES = ("classic", "classic-no-store", "one-command")
GOAL_STYLE = "classic"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.preflight_path")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 nodes, one repeat")
    args = parser.parse_args(argv)
    nodes, repeat = (20, 1) if args.quick else (args.nodes, args.repeat)
    preflight = [sys.executable, "-m", "preflight"]
    dev = [timed([*preflight, "--stack", "dev"]) for _ in range(repeat)]
    print(f"preflight --stack dev: median {statistics.median(dev):.2f} s (goal ≤ 5 s), "
          f"runs {', '.join(f'{t:.2f}' for t in dev)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-preflight-") as scratch:
        root = Path(scratch)
        cluster = workload.vm_cluster("vm0", nodes, None, "ecdsa-p256")
        stack = root / "Pulumi.bench.yaml"
        stack.write_text(yaml.safe_dump({"config": {workload.CLUSTERS_KEY: [cluster]}}),
                         encoding="utf-8")
        ours: list[float] = []
        theirs: dict[str, list[float]] = {style: [] for style in OPENSSL_STYLES}
        for run in range(repeat):
            ours.append(timed([*preflight, "--stack-file", str(stack),
                               "--out", str(root / f"preflight-{run}")]))
            for style, runs in theirs.items():
                runs.append(timed(["bash", str(OPENSSL_PATH), str(nodes),
                                   str(root / f"openssl-{style}-{run}"), "vm0", style]))
    p = statistics.median(ours)
    print(f"{nodes}-node VM cluster: preflight --out median {p:.2f} s, "
          f"runs {', '.join(f'{t:.2f}' for t in ours)}")
    for style, runs in theirs.items():
        o = statistics.median(runs)
        goal = " (goal ≤ 0.5)" if style == GOAL_STYLE else ""
        print(f"  openssl {style}: median {o:.2f} s, ratio preflight/openssl {p / o:.2f}{goal}; "
              f"runs {', '.join(f'{t:.2f}' for t in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
