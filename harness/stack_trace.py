"""The stack trace each registration carries, without the SDK's per-frame cost (pulumi 3.272.0).

Every RegisterResource request carries the program's stack at the resource's constructor (the
engine shows its first frame as the resource's source position). pulumi 3.272.0's
`pulumi.runtime.resource._get_stack_trace` takes a full `traceback.extract_stack()`, which reads
each frame's source line through linecache, and converts every frame's file name to a URI with
pathlib, afresh for every resource: 0.7 ms a registration, 0.3 s of a 100-node preflight
(docs/benchmarks.md, F12). `install()`, called by preflight's entry point, puts `stack_trace`
below in its place: the same frames, read from the interpreter's frame objects, each file name
converted once. Only the pinned SDK is patched; on any other version preflight runs the SDK's
own (slower, same requests). Nothing else installs it: under `pulumi up` the SDK runs as
shipped, and goal 1's graph-build bench measures the program as `pulumi up` runs it.

tests/test_stack_trace.py compares the two, request by request, on every registration of the
stacks the tests run.
"""

from __future__ import annotations

import functools
import pathlib
import sys
from importlib.metadata import version
from types import FrameType

from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

PINNED = "3.272.0"
# The SDK's own: what `stack_trace` must equal (tests/test_stack_trace.py).
UPSTREAM = sdk_resource._get_stack_trace


def install() -> bool:
    """Use `stack_trace` for every registration in this process; False, and the SDK's own
    function, unless pulumi is `PINNED`."""
    if version("pulumi") != PINNED:
        return False
    sdk_resource._get_stack_trace = stack_trace
    return True


def stack_trace() -> source_pb2.StackTrace:
    """Upstream's result: the frames that called the resource's constructor, innermost first.

    As upstream: the constructor is the third `__init__` frame up from here (Resource,
    Custom/ComponentResource, the concrete class); no such frame, or one at the very bottom of
    the stack, gives an empty trace; `sys.tracebacklimit` bounds the frames looked at, as it
    bounds `extract_stack`'s (a limit of 0 or less fails upstream; here it gives no frames).
    """
    frames = _frames_innermost_first(sys._getframe())
    inits = 0
    for depth, frame in enumerate(frames):
        if frame.f_code.co_name == "__init__":
            inits += 1
            if inits == 3:
                callers = frames[depth + 1 :]
                return source_pb2.StackTrace(
                    frames=[source_pb2.StackFrame(pc=_position(f)) for f in callers]
                )
    return source_pb2.StackTrace()


def _frames_innermost_first(frame: FrameType | None) -> list[FrameType]:
    limit = getattr(sys, "tracebacklimit", None)
    frames: list[FrameType] = []
    while frame is not None and (limit is None or len(frames) < max(limit, 0)):
        frames.append(frame)
        frame = frame.f_back
    return frames


def _position(frame: FrameType) -> source_pb2.SourcePosition | None:
    filename, line = frame.f_code.co_filename, frame.f_lineno
    uri = _uri(filename)
    return None if uri is None or line is None else source_pb2.SourcePosition(uri=uri, line=line)


@functools.cache
def _uri(filename: str) -> str | None:
    try:
        return pathlib.Path(filename).as_uri()
    except ValueError:  # a relative name, or none, such as "<string>": upstream gives no position
        return None
