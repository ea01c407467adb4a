"""The pack's entry point: `python -m pulumi.policy`, run in this process with the same argv
and `sys.path`, and ended once the process that started it is gone.

The engine ends its analyzer plugins, and preflight ends its pack on every exit it can see. A
preflight killed outright (SIGKILL, a CI job's timeout) cannot: its pack would serve on,
orphaned, for good. The pack's stdin is a pipe from its starter, and the pipe's far end closes
when the starter dies, however it dies.
"""

import os
import runpy
import sys
import threading


def _end_with_the_starter() -> None:
    while os.read(sys.stdin.fileno(), 4096):  # nothing is ever sent: b"" is the end of file
        pass
    os._exit(0)  # the gRPC server's threads would otherwise keep the interpreter alive


if __name__ == "__main__":
    sys.path[0] = os.getcwd()  # as `python -m` sets it: the pack's directory, not harness/
    threading.Thread(target=_end_with_the_starter, name="starter-watch", daemon=True).start()
    runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)
