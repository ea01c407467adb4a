"""The mock runtime applies `ignore_changes` as the engine's processIgnoreChanges does: on an
update each ignored input keeps its old value (or stays absent), for the diff, the provider,
the state and what the policy pack is sent."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_tls as tls
import pytest

from harness.mock_runtime import EngineState, Recording, Sent, reveal, run_program, struct_to_python


def _key(ignore: list[str], **inputs: Any) -> None:
    tls.PrivateKey("k", algorithm="RSA", opts=pulumi.ResourceOptions(ignore_changes=ignore),
                   **inputs)


def _run(state: EngineState, ignore: list[str], sent: list[Sent] | None = None,
         **inputs: Any) -> Recording:
    return run_program(lambda: _key(ignore, **inputs), state=state,
                       on_register=None if sent is None else sent.append)


def _stored(state: EngineState) -> dict[str, Any]:
    [resource] = [r for r in state.resources.values() if r.type.startswith("tls:")]
    return dict(resource.inputs)


def test_an_ignored_input_keeps_its_old_value_everywhere() -> None:
    state = EngineState()
    _run(state, ["rsa_bits"], rsa_bits=2048)
    sent: list[Sent] = []
    again = _run(state, ["rsa_bits"], sent, rsa_bits=3072)
    assert again.changes.unchanged and not again.changes.replaced
    assert _stored(state)["rsaBits"] == 2048
    [key] = [s for s in sent if s.registration.type.startswith("tls:")]
    assert struct_to_python(key.request_object)["rsaBits"] == 2048  # the policy pack's view
    assert reveal(key.registration.inputs)["rsaBits"] == 2048


def test_an_ignored_input_that_was_absent_stays_absent() -> None:
    state = EngineState()
    _run(state, ["rsa_bits"])
    again = _run(state, ["rsa_bits"], rsa_bits=4096)
    assert again.changes.unchanged and not again.changes.replaced
    assert "rsaBits" not in _stored(state)


def test_without_ignore_changes_the_same_edit_replaces() -> None:
    state = EngineState()
    _run(state, [], rsa_bits=2048)
    assert _run(state, [], rsa_bits=3072).changes.replaced


def test_a_create_takes_the_inputs_as_given() -> None:
    state = EngineState()
    _run(state, ["rsa_bits"], rsa_bits=3072)
    assert _stored(state)["rsaBits"] == 3072


def test_nested_paths_are_refused_rather_than_half_emulated() -> None:
    state = EngineState()
    _run(state, ["subject.commonName"], rsa_bits=2048)
    with pytest.raises(Exception, match="only top-level properties"):
        _run(state, ["subject.commonName"], rsa_bits=2048)
