"""The test helper that runs the program leaves nothing behind: its runs write node keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.stack_runs import REPO

# A VM run writes its bundles (private keys included) under the run's project directory.
_RUN_AND_REPORT = """
import json, os
from harness.mock_runtime import EngineState
from tests import stack_runs
state = EngineState()
cluster = {"name": "dev", "delivery": "vm", "nodes": [{"name": "n1", "dns": ["n1"]}]}
stack_runs.run_clusters([cluster], state=state)
shared = stack_runs._project_dir(state)
single = stack_runs._project_dir(None)
keys = [os.path.join(d, f) for d, _, fs in os.walk(shared) for f in fs if f.endswith(".key")]
print(json.dumps({"root": stack_runs._RUNS_ROOT.name, "dirs": [shared, single], "keys": keys}))
"""


def test_runs_write_under_one_root_removed_when_the_process_exits() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_REPORT], cwd=REPO, capture_output=True, text=True,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    root = Path(report["root"])
    assert report["keys"], "the VM run wrote no key: nothing here proves the cleanup"
    for path in [*report["dirs"], *report["keys"]]:
        assert Path(path).is_relative_to(root)
    assert not root.exists(), f"{root} outlived the process that ran the program"
