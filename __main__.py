"""Entry point run by `pulumi up`; see components/program.py."""

import asyncio

import pulumi

from components import gc_thresholds
from components.program import main


async def _program() -> None:
    main()
    # The language host runs this file synchronously and then waits for the RPCs it queued;
    # without one pass of the event loop none of them has started yet, and the SDK falls back
    # to re-waiting on every pending Output per completion, quadratic in the resource count
    # (docs/benchmarks.md, F1). `pulumi.run` awaits this before the stack's outputs are sent.
    await asyncio.sleep(0)


gc_thresholds.apply()
pulumi.run(_program)
