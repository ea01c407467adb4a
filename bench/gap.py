"""Goal 1, diagnosed: where the program's time over the floor goes, by delivery.

`python -m bench.gap [--nodes 300] [--repeat 3]` times, in fresh interpreters and interleaved
(the same noise window for each row), estates delivered one way only:

* ECK only and VM only, the program against the floor of the same estate;
* VM only with each `NodeBundle`'s create doing nothing (no files, no cloud-init, no outputs):
  what is left is the cost of registering the bundle itself;
* VM only with no `NodeBundle` registered at all (its inputs are still built);
* VM only with one bundle per cluster instead of one per node: the same inputs and the same
  files, written by `NodeBundleProvider.create` node by node, through one resource (the
  structural lever goal 1's decision is about).

It prints medians and each run's ratio to the floor, and the extra milliseconds per node.
`--calls` instead runs each row once counting function calls (Python and C, every thread): a
measure of work that this machine's noise does not move, slower to take.

The VM variants patch the program in the child process only (`variant`); they are
experiments, not configurations a user can ask for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any
from unittest import mock

import pulumi
import pulumi.dynamic as dyn

from bench.graph_build import child_figures, measure_once
from components import outputs, vm_delivery
from components.node_bundle import (
    OUT_CLOUD_INIT,
    NodeBundleArgs,
    NodeBundleProvider,
    bundle_props,
)

AS_IS = "as-is"
CREATE_DOES_NOTHING = "bundle create does nothing"
NO_BUNDLE = "no bundle"
PER_CLUSTER = "one bundle per cluster"
# (estate, kind, variant), in the order they run and print.
RUNS = (
    ("eck", "floor", AS_IS),
    ("eck", "program", AS_IS),
    ("vm", "floor", AS_IS),
    ("vm", "program", AS_IS),
    ("vm", "program", CREATE_DOES_NOTHING),
    ("vm", "program", NO_BUNDLE),
    ("vm", "program", PER_CLUSTER),
)


class _Unregistered:
    """Stands in for `NodeBundle` and registers nothing."""

    def __init__(
        self, _name: str, _args: NodeBundleArgs, _opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self.cloud_init: pulumi.Output[str] = pulumi.Output.from_input("")


def _create_nothing(_self: NodeBundleProvider, props: dict[str, Any]) -> dyn.CreateResult:
    return dyn.CreateResult(f"nothing/{props['cluster']}/{props['node']}", {})


class _ClusterBundleProvider(dyn.ResourceProvider):
    """Every node's bundle of a cluster, created as `NodeBundle`s create theirs."""

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        per_node = NodeBundleProvider()
        cloud_init = {
            node: (per_node.create(node_props).outs or {})[OUT_CLOUD_INIT]
            for node, node_props in sorted(props["nodes"].items())
        }
        return dyn.CreateResult(f"cluster/{props['cluster']}", {OUT_CLOUD_INIT: cloud_init})


class _ClusterBundle(dyn.Resource, module="es-transport-pki-bench", name="ClusterBundle"):
    def __init__(self, name: str, cluster: str, nodes: dict[str, NodeBundleArgs],
                 opts: pulumi.ResourceOptions) -> None:
        props = {"cluster": cluster, OUT_CLOUD_INIT: None,
                 "nodes": {node: bundle_props(args) for node, args in nodes.items()}}
        secret = pulumi.ResourceOptions(additional_secret_outputs=[OUT_CLOUD_INIT, "nodes"])
        super().__init__(_ClusterBundleProvider(), name, props,
                         pulumi.ResourceOptions.merge(opts, secret))


def _deliver_per_cluster(
    self: vm_delivery.VmDelivery, name: str, args: vm_delivery.VmDeliveryArgs,
    opts: pulumi.ResourceOptions | None = None,
) -> None:
    """`VmDelivery.__init__` with one `_ClusterBundle` in place of a `NodeBundle` per node."""
    pulumi.ComponentResource.__init__(self, vm_delivery.TYPE, name, None, opts)
    bundle = _ClusterBundle(f"{name}-bundle", args.cluster.name,
                            vm_delivery.bundle_args(args), pulumi.ResourceOptions(parent=self))
    self.bundles = {}
    self.cloud_init = outputs.secret(getattr(bundle, OUT_CLOUD_INIT))
    self.register_outputs({"cloudInit": self.cloud_init})


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """The program as shipped (`AS_IS`), or with one of the experiments above patched in."""
    patches: dict[str, contextlib.AbstractContextManager[object]] = {
        AS_IS: contextlib.nullcontext(),
        CREATE_DOES_NOTHING: mock.patch.object(NodeBundleProvider, "create", _create_nothing),
        NO_BUNDLE: mock.patch.object(vm_delivery, "NodeBundle", _Unregistered),
        PER_CLUSTER: mock.patch.object(vm_delivery.VmDelivery, "__init__", _deliver_per_cluster),
    }
    if name not in patches:
        raise ValueError(f"variant {name!r}: expected one of {', '.join(patches)}")
    with patches[name]:
        yield


@contextlib.contextmanager
def counting_calls() -> Iterator[list[int]]:
    """Counts every Python and C function call in the block, on every thread started in it
    too; the count is in the yielded list's one item."""
    count = [0]

    def profile(_frame: FrameType, event: str, _arg: object) -> None:
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(None)
        threading.setprofile(None)


def measure(
    estate: str, kind: str, name: str, nodes: int, *, calls: bool = False
) -> dict[str, Any]:
    flags = ("--calls",) if calls else ()
    return child_figures("bench.gap", estate, kind, name, str(nodes), *flags)


def _label(kind: str, name: str) -> str:
    return kind if name == AS_IS else f"{kind}, {name}"


def report_calls(nodes: int) -> None:
    print(f"{nodes} nodes per estate, function calls (Python and C, all threads), one run each")
    print(f"{'estate':6}  {'run':38} {'calls/node':>10} {'extra/node':>10}")
    floors: dict[str, float] = {}
    for estate, kind, name in RUNS:
        per_node = measure(estate, kind, name, nodes, calls=True)["calls"] / nodes
        if kind == "floor":
            floors[estate] = per_node
        label = _label(kind, name)
        extra = f"{per_node - floors[estate]:10,.0f}" if kind != "floor" else ""
        print(f"{estate:6}  {label:38} {per_node:10,.0f} {extra:>10}", flush=True)


def report(nodes: int, repeat: int) -> None:
    walls: dict[tuple[str, str, str], list[float]] = {run: [] for run in RUNS}
    cpus: dict[tuple[str, str, str], list[float]] = {run: [] for run in RUNS}
    ratios: dict[tuple[str, str, str], list[float]] = {run: [] for run in RUNS}
    for _ in range(repeat):
        floors: dict[str, float] = {}
        for run in RUNS:
            estate, kind, name = run
            figures = measure(estate, kind, name, nodes)
            walls[run].append(figures["wall_s"])
            cpus[run].append(figures["cpu_s"])
            if kind == "floor":
                floors[estate] = figures["wall_s"]
            ratios[run].append(figures["wall_s"] / floors[estate])
    print(f"{nodes} nodes per estate, {repeat} interleaved runs; "
          "ratios: wall / the same run's floor")
    print(f"{'estate':6}  {'run':38} {'wall s':>7} {'cpu s':>7}  {'ratios':22} {'extra/node':>10}")
    for run in RUNS:
        estate, kind, name = run
        floor = statistics.median(walls[(estate, "floor", AS_IS)])
        wall = statistics.median(walls[run])
        label = _label(kind, name)
        shown = " ".join(f"{r:.2f}" for r in ratios[run])
        extra = f"{(wall - floor) / nodes * 1000:7.1f} ms" if kind != "floor" else ""
        print(f"{estate:6}  {label:38} {wall:7.2f} {statistics.median(cpus[run]):7.2f}  "
              f"{shown:22} {extra:>10}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gap")
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 nodes, 2 runs")
    parser.add_argument("--calls", action="store_true", help="count calls instead of timing")
    parser.add_argument("--child", nargs=4, metavar=("ESTATE", "KIND", "VARIANT", "NODES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        estate, kind, name, nodes = args.child
        with variant(name), contextlib.ExitStack() as stack:
            count = stack.enter_context(counting_calls()) if args.calls else None
            figures = measure_once(kind, int(nodes), estate)
        print(json.dumps(figures if count is None else {**figures, "calls": count[0]}))
        return 0
    nodes = 100 if args.quick else args.nodes
    if args.calls:
        report_calls(nodes)
    else:
        report(nodes, 2 if args.quick else args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
