"""components/k8s_core.py sends the registrations `pulumi_kubernetes.core.v1` sends."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import k8s_core
from harness.mock_runtime import Registration, Secret, run_program

DATA = {"ca.crt": "Y2E=", "tls.key": "a2V5"}


def metadata() -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name="c-transport", namespace="ns", labels={"app.kubernetes.io/managed-by": "x"}
    )


def registrations(make: Any) -> dict[str, Registration]:
    def program() -> None:
        provider = k8s.Provider("k8s", render_yaml_to_directory="rendered")
        dependency = k8s.Provider("other", render_yaml_to_directory="rendered-2")
        make(pulumi.ResourceOptions(provider=provider, depends_on=[dependency]))

    recorded = run_program(program, stack="test").registrations
    return {r.type: r for r in recorded if r.type in (k8s_core.SECRET, k8s_core.CONFIG_MAP)}


def fields(registration: Registration) -> dict[str, Any]:
    """Every field the engine receives (the names differ on purpose)."""
    return {k: v for k, v in vars(registration).items() if k not in ("name", "urn")}


def test_secret_and_config_map_register_as_the_typed_classes_do() -> None:
    typed = registrations(lambda opts: (
        k8s.core.v1.Secret("s", metadata=metadata(), type="Opaque", data=DATA, opts=opts),
        k8s.core.v1.ConfigMap("m", metadata=metadata(), data=DATA, opts=opts),
    ))
    ours = registrations(lambda opts: (
        k8s_core.secret("s", metadata=metadata(), type_="Opaque", data=DATA, opts=opts),
        k8s_core.config_map("m", metadata=metadata(), data=DATA, opts=opts),
    ))
    assert ours.keys() == typed.keys()
    for token in ours:
        assert fields(ours[token]) == fields(typed[token]), token
    secret = ours[k8s_core.SECRET]
    # The comparison is not vacuous: the fields that matter are there.
    assert secret.version and secret.provider and secret.dependencies
    assert isinstance(secret.inputs["data"], Secret)
    assert secret.additional_secret_outputs == ["data", "stringData"]
    assert secret.inputs["metadata"]["namespace"] == "ns"
    every_field = {f.name for f in dataclasses.fields(Registration)}
    assert set(fields(secret)) == every_field - {"name", "urn"}
