"""components.outputs.secret marks what `pulumi.Output.secret` marks, as the engine receives it
(value, secrecy, unknowns at preview, dependencies), without lifting a resolved map."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pulumi
import pulumi_tls as tls
import pytest

from components import outputs
from harness.mock_runtime import UNKNOWN, EngineState, Recording, Secret, run_program

HOLDER = "test:index:Holder"


def _program(mark: Any) -> Any:
    """A public key (not secret) made into a per-node style map, handed to a resource marked
    by `mark`."""

    def program() -> None:
        key = tls.PrivateKey("key", algorithm="ECDSA", ecdsa_curve="P256")
        data = key.public_key_pem.apply(lambda pem: {"node-0": pem, "node-1": "fixed"})
        pulumi.CustomResource(HOLDER, "holder", {"data": mark(data), "plain": mark("text")})

    return program


def _holder(recording: Recording) -> Any:
    return recording.named("holder")


@pytest.mark.parametrize("mark", [outputs.secret, pulumi.Output.secret], ids=["ours", "sdk"])
def test_the_engine_receives_the_map_secret_with_its_dependencies(mark: Any) -> None:
    recording = run_program(_program(mark))
    holder = _holder(recording)
    data = holder.inputs["data"]
    assert isinstance(data, Secret)
    assert set(data.value) == {"node-0", "node-1"}
    assert data.value["node-0"].startswith("-----BEGIN PUBLIC KEY-----")
    assert holder.inputs["plain"] == Secret("text")
    assert holder.property_dependencies["data"] == [recording.named("key").urn]


def test_an_unknown_value_is_sent_unknown_and_secret_as_by_the_sdk() -> None:
    marked = {
        name: _holder(run_program(_program(mark), state=EngineState(), preview=True))
        for name, mark in (("ours", outputs.secret), ("sdk", pulumi.Output.secret))
    }
    assert marked["ours"].inputs["data"] == marked["sdk"].inputs["data"] == Secret(UNKNOWN)


def test_the_resolved_map_is_not_lifted_into_outputs() -> None:
    lifted: list[Any] = []
    from_input = pulumi.Output.from_input

    def spy(value: Any) -> Any:
        if isinstance(value, dict) and "node-0" in value:
            lifted.append(value)
        return from_input(value)

    with mock.patch.object(pulumi.Output, "from_input", staticmethod(spy)):
        run_program(_program(outputs.secret))
        assert lifted == []
        run_program(_program(pulumi.Output.secret))
        assert lifted  # the spy sees what the SDK's own secret() lifts
