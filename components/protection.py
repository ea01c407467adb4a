"""Config changes that would delete a protected CA (stack key `protectCa`), refused up front.

The engine refuses to delete a protected resource only at the end of an update, after every
other change has been applied; the last deployment's outputs say which CAs are protected, so
the program can refuse such a config before it registers anything and say how to proceed:
one `up` that lifts the protection while the CA is still configured, then the change.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.config_reader import ConfigProblem, join
from components.model import CaMode, JudgedClusters
from components.model_http import HttpMode
from components.model_rotation import DeployedCluster

TWO_STEPS = (
    "first run `pulumi up` with it still configured and `pulumi config set protectCa false`, "
    "then make the change (and set protectCa back to true); docs/state-and-secrets.md"
)


def protected_deletion_problems(
    clusters: JudgedClusters, deployed: Mapping[str, DeployedCluster]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    judged = {cluster.name: (index, cluster) for index, cluster in clusters.indexed}
    for name, previous in sorted(deployed.items()):
        if name not in judged:
            unconfigured = clusters.names is not None and name not in clusters.names
            if unconfigured and (previous.ca_protected or previous.http_ca_protected):
                problems.append(ConfigProblem("clusters", (
                    f"cluster {name!r} is deployed with protected CA resources and is no longer "
                    f"configured, so the engine would refuse to delete its CA. To decommission "
                    f"it, {TWO_STEPS}; or restore its entry"
                )))
            continue
        index, cluster = judged[name]
        key = join("clusters", index)
        if previous.ca_protected and cluster.ca.mode is CaMode.PROVIDED:
            problems.append(ConfigProblem(join(key, "ca.mode"), (
                f"'provided' would delete cluster {name}'s generated CA, which is protected "
                f"(and swap its CA in one update, see docs/rotation.md 'Provided CAs'). To do it, "
                f"{TWO_STEPS}"
            )))
        http_generated = cluster.http is not None and cluster.http.mode is HttpMode.GENERATED
        if previous.http_ca_protected and not http_generated:
            problems.append(ConfigProblem(join(key, "http.mode"), (
                f"would delete cluster {name}'s generated HTTP CA, which is protected. To do "
                f"it, {TWO_STEPS}"
            )))
    return problems
