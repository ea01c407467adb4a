"""Goals 3 and 4: `python -m preflight` end to end, and preflight versus the openssl CLI.

`python -m bench.preflight_path [--nodes 100] [--repeat 3]` times, as a user runs them (fresh
processes, wall clock): preflight on the dev stack; preflight `--out` on one N-node VM cluster;
and bench/openssl_path.sh creating the same CA and N node certificates. Preflight and openssl
alternate, so noise hits both alike; medians are reported with the ratio preflight/openssl.
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
        stack.write_text(yaml.safe_dump({"config": {workload.CLUSTERS_KEY: [cluster]}}))
        ours, theirs = [], []
        for run in range(repeat):
            ours.append(timed([*preflight, "--stack-file", str(stack),
                               "--out", str(root / f"preflight-{run}")]))
            theirs.append(timed(["bash", str(OPENSSL_PATH), str(nodes),
                                 str(root / f"openssl-{run}"), "vm0"]))
    p, o = statistics.median(ours), statistics.median(theirs)
    print(f"{nodes}-node VM cluster: preflight --out median {p:.2f} s, openssl CLI median "
          f"{o:.2f} s, ratio preflight/openssl {p / o:.2f} (goal ≤ 0.5)")
    print(f"  preflight runs {', '.join(f'{t:.2f}' for t in ours)}; "
          f"openssl runs {', '.join(f'{t:.2f}' for t in theirs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
