"""How `python -m preflight` stops on SIGTERM, SIGHUP and SIGINT: it unwinds as an exception
does, so that every `with` cleans up: the temporary folders (with `--decrypted-config
--handshakes` they hold certificates and keys of the real CA) and the pack's process.

While the program's event loop runs, the exit is raised from a callback of that loop, between
two of its steps, not wherever the signal lands. Raised inside asyncio's own bookkeeping (after
a task had finished, before its waiter was woken) it left a task waiting for ever on a finished
one, and the run's cleanup, which waits for every cancelled task, hung: about one stop in fifty.

Imported before the pack starts, so nothing heavy here: asyncio is looked up, not imported (if
nothing imported it yet, no loop runs).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def install() -> None:
    for stopping in STOPPING_SIGNALS:
        signal.signal(stopping, stop)


def stop(signum: int, _frame: FrameType | None) -> None:
    """Exit with 128 + the signal's number. A second signal must not interrupt the cleanup."""
    for stopping in STOPPING_SIGNALS:
        signal.signal(stopping, signal.SIG_IGN)
    exit_ = SystemExit(128 + signum)
    loop = _running_loop()
    if loop is None:
        raise exit_
    # Thread-safe, though this is the loop's thread: it wakes the loop's select, which the
    # signal interrupted and which would otherwise resume its wait.
    loop.call_soon_threadsafe(_raise, exit_)


def _raise(err: BaseException) -> None:
    raise err


def _running_loop() -> asyncio.AbstractEventLoop | None:
    module = sys.modules.get("asyncio")
    if module is None:
        return None
    try:
        return module.get_running_loop()  # type: ignore[no-any-return]
    except RuntimeError:
        return None
