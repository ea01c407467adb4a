"""`python -m preflight --stack dev`."""

import os
import sys

from harness.pack_process import PackProcess
from preflight import stopping
from preflight.args import arguments, stack_and_path


def _run(argv: list[str]) -> int:
    # The command line first (it prints its own usage errors), then the pack, then the heavy
    # imports: the pack boots (≈ 0.5 s) while the program and the SDK are imported.
    started = PackProcess(stack=stack_and_path(arguments(argv))[0])
    try:
        from components import gc_thresholds  # noqa: PLC0415 - after the pack's start
        from harness import stack_trace  # noqa: PLC0415
        from preflight.cli import main  # noqa: PLC0415

        gc_thresholds.apply()
        # The harness, preflight's engine, ignores the stack trace each registration carries:
        # built the cheap way, same requests (F12). `pulumi up` and goal 1's benches keep the
        # SDK's own.
        stack_trace.install()
        return main(argv, started)
    finally:
        started.close()


stopping.install()
try:
    code = _run(sys.argv[1:])
except SystemExit as stop:  # a signal (preflight/stopping.py), or argparse (--help, a bad option)
    code = stop.code if isinstance(stop.code, int) else 1
# Everything is written and closed by now (the pack process, temporary folders); what is left
# is freeing the recorded graph, object by object, which took 0.35 s at exit for a 100-node
# cluster. Skip it, as mypy does: flush what was printed and leave.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
