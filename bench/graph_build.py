"""Goal 1: graph build under the mock runtime, against a bare floor, one fresh process per size.

`python -m bench.graph_build [--sizes 1,10,100,1000,2000]` prints, per size, the program's and
the floor's wall time and peak RSS, resources per node, and the ratios the goals name. The floor
is the least any program can do with the same mocks and key algorithm: per cluster a CA
(PrivateKey + SelfSignedCert), per node PrivateKey + CertRequest + LocallySignedCert, nothing
else. Both run in the same invocation, interleaved, so the machine's noise hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_tls as tls

from bench import workload
from components.program import main as program_main
from harness.mock_runtime import run_program

ALGORITHM = "ecdsa-p256"
SIZES = (1, 10, 100, 500, 1000, 2000)
QUICK_SIZES = (1, 10, 50, 100)
# "as-is": the program handed to run_program as preflight and the tests do. "yield": the same
# program, then one `await asyncio.sleep(0)` before the SDK's wait_for_rpcs, which is the fix
# proposed for harness/mock_runtime.py (docs/benchmarks.md, Findings): it lets the queued
# registration RPCs start, so the SDK awaits them one by one instead of re-waiting on every
# pending Output after each registration (quadratic).
RUNNERS = ("as-is", "yield")
# Beyond this size the as-is runner takes many minutes (quadratic); its trend is clear by then.
AS_IS_MAX = 1000
NODE_CERTIFICATE = "es-transport-pki:node_certificate:NodeCertificate"
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


def yielding(body: Callable[[], None]) -> Callable[[], Any]:
    """`body`, then one pass of the event loop (run_in_stack awaits what a program returns)."""
    async def program() -> None:
        body()
        await asyncio.sleep(0)

    return program


def measure_once(kind: str, nodes: int, runner: str) -> dict[str, Any]:
    """One run in this process (the child side): figures as a JSON-able dict."""
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as out:
        clusters = workload.clusters(nodes, output_dir=out, algorithm=ALGORITHM)
        body = program_main if kind == "program" else (lambda: floor_program(clusters))
        program = yielding(body) if runner == "yield" else body
        # Relative paths (none here) would resolve against the project directory, as under up.
        with contextlib.chdir(out):
            start = time.perf_counter()
            recording = run_program(program, config=workload.config(clusters), stack="bench")
            wall = time.perf_counter() - start
    types = Counter(r.type for r in recording.registrations)
    custom = sum(1 for r in recording.registrations if r.custom)
    eck_clusters = sum(1 for c in clusters if c["delivery"] == "eck")
    return {
        "kind": kind, "nodes": nodes, "runner": runner, "wall_s": wall,
        # ru_maxrss is KiB on Linux; the child is fresh, so this is the size's own peak.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "registrations": len(recording.registrations), "custom": custom,
        "node_certificates": types.get(NODE_CERTIFICATE, 0),
        "secrets": types.get(SECRET, 0), "eck_clusters": eck_clusters,
        "types": dict(types),
    }


def measure(kind: str, nodes: int, runner: str) -> dict[str, Any]:
    """`measure_once` in a fresh interpreter, so peak RSS belongs to this size alone."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.graph_build", "--child", kind, str(nodes), runner],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _row(nodes: int, runner: str, f: dict[str, Any], p: dict[str, Any]) -> None:
    print(
        f"{runner:>6} {nodes:>5} nodes  program {p['wall_s']:8.2f} s {p['peak_rss_mib']:5.0f} MiB"
        f"  floor {f['wall_s']:8.2f} s {f['peak_rss_mib']:5.0f} MiB  "
        f"ratio {p['wall_s'] / f['wall_s']:5.2f}  "
        f"resources/node {p['registrations'] / nodes:5.2f} (custom {p['custom'] / nodes:4.2f})  "
        f"ECK Secrets {p['secrets']} / {p['eck_clusters']} ECK clusters",
        flush=True,
    )


def report(sizes: tuple[int, ...], runners: tuple[str, ...]) -> dict[str, Any]:
    rows: dict[str, dict[int, dict[str, dict[str, Any]]]] = {r: {} for r in runners}
    for nodes in sizes:
        for runner in runners:
            if runner == "as-is" and nodes > AS_IS_MAX:
                continue
            # Floor and program back to back: the same noise window for both.
            f, p = measure("floor", nodes, runner), measure("program", nodes, runner)
            rows[runner][nodes] = {"floor": f, "program": p}
            _row(nodes, runner, f, p)
    summary: dict[str, Any] = {"rows": rows, "linearity": {}}
    for runner, by_size in rows.items():
        measured = sorted(by_size)
        pairs = [(a, b) for a in measured for b in measured if b == 2 * a]
        for small, big in pairs:
            ratio = {k: by_size[big][k]["wall_s"] / by_size[small][k]["wall_s"]
                     for k in ("program", "floor")}
            summary["linearity"][f"{runner} {big}/{small}"] = ratio
            print(f"linearity {runner} {big}/{small}: program {ratio['program']:.2f}x, "
                  f"floor {ratio['floor']:.2f}x (goal ≤ 2.1x)")
    return summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_build")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--runners", default=",".join(RUNNERS))
    parser.add_argument("--child", nargs=3, metavar=("KIND", "NODES", "RUNNER"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_once(args.child[0], int(args.child[1]), args.child[2])))
        return 0
    sizes = QUICK_SIZES if args.quick else tuple(int(s) for s in args.sizes.split(","))
    summary = report(sizes, tuple(args.runners.split(",")))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
