"""Marking an Output secret without lifting its value into Outputs.

`pulumi.Output.secret(value)` starts with `Output.from_input(value)`, which turns a resolved dict
or list into an Output per key and element, recursively, before marking the result. For the
maps that hold an entry per node (ECK Secret data, cloud-init documents) that was most of what
marking them cost (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import TypeVar

import pulumi

T = TypeVar("T")


def secret(value: pulumi.Input[T]) -> pulumi.Output[T]:
    """`value` marked secret, like `pulumi.Output.secret`, known or unknown (preview), with the
    same dependencies. An Output's resolved value is passed on as it is: it must hold no
    Outputs (apply results never do). Any other input goes through `pulumi.Output.secret`."""
    if not isinstance(value, pulumi.Output):
        return pulumi.Output.secret(value)
    # An apply that returns an Output takes on that Output's secrecy, and returning a plain
    # value lifts nothing. `run_with_unknowns` marks an unknown value too.
    return value.apply(lambda resolved: pulumi.Output.secret("").apply(lambda _: resolved), True)
