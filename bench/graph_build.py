"""Goal 1: graph build under the mock runtime, against a bare floor, one fresh process per size.

`python -m bench.graph_build [--sizes 1,10,100,1000,2000] [--repeat N]` prints, per size, the
program's and the floor's wall time and peak RSS, resources per node, and the ratios the goals
name. With `--repeat N` each size runs N rounds of both, the order swapped every round, and
prints the median of the rounds' ratios with their range: on this machine one round's ratio
moves by ±0.15 between invocations of the same code, more than goal 1's margin. The floor
is the least any program can do with the same mocks and key algorithm: per cluster a CA
(PrivateKey + SelfSignedCert), per node PrivateKey + CertRequest + LocallySignedCert, nothing
else. Both run in the same invocation, interleaved, so the machine's noise hits them alike, and
both with the collector thresholds the entry points set (components/gc_thresholds.py), so the
ratio compares the programs, not collector settings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any

import pulumi
import pulumi_tls as tls

from bench import workload
from components import gc_thresholds
from components.program import main as program_main
from harness.mock_runtime import run_program

ALGORITHM = "ecdsa-p256"
SIZES = (1, 10, 100, 500, 1000, 2000)
QUICK_SIZES = (1, 10, 50, 100)
SECRET = "kubernetes:core/v1:Secret"


def floor_program(clusters: list[dict[str, Any]]) -> None:
    """The bare minimum: the three pulumi-tls resources per node, signed by a per-cluster CA."""
    for cluster in clusters:
        name = cluster["name"]
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256")
        ca = tls.SelfSignedCert(
            f"{name}-ca-cert", private_key_pem=ca_key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name} CA"),
            is_ca_certificate=True, allowed_uses=["cert_signing", "crl_signing"],
            validity_period_hours=43800,
        )
        count = len(cluster["nodes"]) if "nodes" in cluster else cluster["eck"]["nodeSets"][0][
            "count"]
        for i in range(count):
            key = tls.PrivateKey(f"{name}-{i}-key", algorithm="ECDSA", ecdsa_curve="P256")
            csr = tls.CertRequest(
                f"{name}-{i}-csr", private_key_pem=key.private_key_pem,
                subject=tls.CertRequestSubjectArgs(common_name=f"es-{i}"),
                dns_names=[f"es-{i}.{name}.bench.internal"],
            )
            tls.LocallySignedCert(
                f"{name}-{i}-cert", cert_request_pem=csr.cert_request_pem,
                ca_cert_pem=ca.cert_pem, ca_private_key_pem=ca_key.private_key_pem,
                allowed_uses=["digital_signature", "server_auth", "client_auth"],
                validity_period_hours=8760,
            )
    pulumi.export("done", True)


def measure_once(kind: str, nodes: int, delivery: str | None = None) -> dict[str, Any]:
    """One run in this process (the child side): figures as a JSON-able dict. `delivery`
    (`vm`, `eck`): an estate delivered that way only; None: the mixed estate."""
    gc_thresholds.apply()  # as `pulumi up` and preflight run the program
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as out:
        clusters = (
            workload.clusters(nodes, output_dir=out, algorithm=ALGORITHM)
            if delivery is None
            else workload.single_delivery(nodes, delivery, output_dir=out, algorithm=ALGORITHM)
        )
        program = program_main if kind == "program" else (lambda: floor_program(clusters))
        # Relative paths (none here) would resolve against the project directory, as under up.
        with contextlib.chdir(out):
            start, cpu = time.perf_counter(), time.process_time()
            recording = run_program(program, config=workload.config(clusters), stack="bench")
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    types = Counter(r.type for r in recording.registrations)
    custom = sum(1 for r in recording.registrations if r.custom)
    eck_clusters = sum(1 for c in clusters if c["delivery"] == "eck")
    return {
        # CPU time of every thread: less exposed than wall time to other work on the machine.
        "kind": kind, "nodes": nodes, "wall_s": wall, "cpu_s": cpu,
        # ru_maxrss is KiB on Linux; the child is fresh, so this is the size's own peak.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "registrations": len(recording.registrations), "custom": custom,
        "secrets": types.get(SECRET, 0), "eck_clusters": eck_clusters,
        "types": dict(types),
    }


def child_figures(module: str, *args: str) -> dict[str, Any]:
    """`python -m <module> --child <args>` in a fresh interpreter: the JSON figures it prints
    last."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--child", *args], capture_output=True, text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def measure(kind: str, nodes: int) -> dict[str, Any]:
    """`measure_once` in a fresh interpreter, so peak RSS belongs to this size alone."""
    return child_figures("bench.graph_build", kind, str(nodes))


def rounds_of(nodes: int, repeat: int) -> list[dict[str, dict[str, Any]]]:
    """`repeat` rounds of the floor and the program back to back (the same noise window for
    both), the order swapped every round so that a drift of the machine's speed favours
    neither."""
    rounds = []
    for index in range(repeat):
        order = ("floor", "program") if index % 2 == 0 else ("program", "floor")
        rounds.append({kind: measure(kind, nodes) for kind in order})
    return rounds


def combined(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per kind the median wall and CPU time and the highest peak RSS of the rounds (counts are
    the same in every round); the rounds' own ratios, and their median."""
    row: dict[str, Any] = {}
    for kind in ("floor", "program"):
        runs = [r[kind] for r in rounds]
        row[kind] = {**runs[0], **{t: statistics.median(run[t] for run in runs)
                                   for t in ("wall_s", "cpu_s")},
                     "peak_rss_mib": max(run["peak_rss_mib"] for run in runs)}
    for t in ("wall", "cpu"):
        ratios = [r["program"][f"{t}_s"] / r["floor"][f"{t}_s"] for r in rounds]
        row[f"{t}_ratios"] = ratios
        row[f"{t}_ratio"] = statistics.median(ratios)
    return row


def _row(nodes: int, row: dict[str, Any]) -> None:
    f, p, ratios = row["floor"], row["program"], row["wall_ratios"]
    spread = (f" (median of {len(ratios)}, {min(ratios):.2f} to {max(ratios):.2f})"
              if len(ratios) > 1 else "")
    print(
        f"{nodes:>5} nodes  program {p['wall_s']:8.2f} s {p['peak_rss_mib']:5.0f} MiB"
        f"  floor {f['wall_s']:8.2f} s {f['peak_rss_mib']:5.0f} MiB  "
        f"ratio {row['wall_ratio']:5.2f}{spread} (cpu {row['cpu_ratio']:5.2f})  "
        f"resources/node {p['registrations'] / nodes:5.2f} (custom {p['custom'] / nodes:4.2f})  "
        f"ECK Secrets {p['secrets']} / {p['eck_clusters']} ECK clusters",
        flush=True,
    )


def report(sizes: tuple[int, ...], repeat: int = 1) -> dict[str, Any]:
    rows: dict[int, dict[str, Any]] = {}
    for nodes in sizes:
        rows[nodes] = combined(rounds_of(nodes, repeat))
        _row(nodes, rows[nodes])
    summary: dict[str, Any] = {"rows": rows, "linearity": {}}
    for small, big in [(a, b) for a in sorted(rows) for b in sorted(rows) if b == 2 * a]:
        ratio = {f"{k} {t}": rows[big][k][f"{t}_s"] / rows[small][k][f"{t}_s"]
                 for k in ("program", "floor") for t in ("wall", "cpu")}
        summary["linearity"][f"{big}/{small}"] = ratio
        print(f"linearity {big}/{small}: program {ratio['program wall']:.2f}x "
              f"(cpu {ratio['program cpu']:.2f}x), floor {ratio['floor wall']:.2f}x "
              f"(cpu {ratio['floor cpu']:.2f}x) (goal ≤ 2.1x)")
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_build")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds per size (median ratio and its range)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "NODES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_once(args.child[0], int(args.child[1]))))
        return 0
    sizes = QUICK_SIZES if args.quick else tuple(int(s) for s in args.sizes.split(","))
    summary = report(sizes, max(1, args.repeat))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
