"""`StreamedPolicies`, preflight's way of running the pack: Analyze while the program runs.

It must report exactly what the batch run (`run_policies` over the finished recording)
reports, in the same order, and leave no pack process or thread behind on any path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from harness.analyzer import (
    Diagnostic,
    PolicyAnalyzer,
    PolicyConfigError,
    Record,
    analyze_request,
    analyze_stack_request,
)
from harness.mock_runtime import Recording, Sent
from harness.policy_run import (
    IN_FLIGHT,
    StreamedPolicies,
    records_of,
    run_policies,
    to_record,
    wire_record,
)
from tests.stack_runs import run_stack

# Stricter than any certificate of the stacks: violations per resource, on top of the staging
# stack's own advisory from a stack policy (its metrics CA handed to ECK).
STRICT = {"es-transport-validity": {"maxLeafValidityHours": 1}}


def _streamed(stack: str, config: dict[str, Any]) -> tuple[Recording, StreamedPolicies,
                                                            list[Diagnostic]]:
    with StreamedPolicies(stack=stack, config=config) as policies:
        recording = run_stack(stack, on_register=policies.submit)
        diagnostics = policies.finish()
    return recording, policies, diagnostics


@pytest.mark.parametrize(("stack", "config"), [("dev", {}), ("staging", STRICT)])
def test_streamed_verdicts_are_the_batch_verdicts_in_order(
    stack: str, config: dict[str, Any]
) -> None:
    recording, policies, streamed = _streamed(stack, config)
    # Registration order varies between runs (the SDK registers from several threads): the
    # batch run judges the same recording.
    # What was sent is what the batch run sends: the values as they went over the wire,
    # encoded once, equal to the recorded values encoded again (F13).
    batch = records_of(recording)
    assert [analyze_request(r) for r in policies.records] == [analyze_request(r) for r in batch]
    assert analyze_stack_request(policies.records) == analyze_stack_request(batch)
    assert streamed == run_policies(records_of(recording), stack=stack, config=config)
    if config:  # per-resource verdicts first, then the stack policy's
        assert [d.policy_name for d in streamed][-1] == "es-transport-ca-key-custody-advisory"
        assert {d.policy_name for d in streamed[:-1]} == {"es-transport-validity"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
@pytest.mark.parametrize("preview", [False, True])
def test_wire_records_make_the_requests_the_recorded_values_make(
    stack: str, preview: bool
) -> None:
    sent: list[Sent] = []
    registrations = run_stack(stack, preview=preview, on_register=sent.append).registrations
    assert [s.registration for s in sent] == registrations
    wire = [wire_record(s) for s in sent]
    recorded = [to_record(r) for r in registrations]
    assert [analyze_request(r) for r in wire] == [analyze_request(r) for r in recorded]
    assert analyze_stack_request(wire) == analyze_stack_request(recorded)
    # Not vacuous: secrets and (at preview) unknowns are among what was compared.
    request = str(analyze_stack_request(wire))
    assert "4dabf18193072939515e22adb298388d" in request
    assert ("04da6b54-80e4-46f7-96ec-b56ff0331ba9" in request) == preview


def test_analyze_calls_overlap_up_to_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to IN_FLIGHT Analyze calls at once, never more; the verdicts stay in order."""
    send = PolicyAnalyzer.analyze_soon
    outstanding, most = [0], [0]

    def counted(self: PolicyAnalyzer, record: Record) -> Callable[[], list[Diagnostic]]:
        wait = send(self, record)
        outstanding[0] += 1
        most[0] = max(most[0], outstanding[0])

        def waited() -> list[Diagnostic]:
            outstanding[0] -= 1
            return wait()
        return waited

    monkeypatch.setattr(PolicyAnalyzer, "analyze_soon", counted)
    recording, _, streamed = _streamed("staging", STRICT)
    assert len(recording.registrations) > IN_FLIGHT
    assert most[0] == IN_FLIGHT
    assert outstanding[0] == 0
    assert streamed == run_policies(records_of(recording), stack="staging", config=STRICT)


def _assert_closed(policies: StreamedPolicies) -> None:
    assert policies._analyzer._pack.process.poll() is not None
    assert not any(t.name == "policy-pack" for t in threading.enumerate())


@pytest.mark.parametrize("registered", [0, 5], ids=["before any registration", "midway"])
def test_a_failing_program_leaves_no_pack_behind(registered: int) -> None:
    sent: list[Sent] = []
    run_stack("dev", on_register=sent.append)
    with (
        pytest.raises(RuntimeError, match="the program failed"),
        StreamedPolicies(stack="dev") as policies,
    ):
        for registration in sent[:registered]:
            policies.submit(registration)
        raise RuntimeError("the program failed")
    _assert_closed(policies)


def test_a_pack_error_is_raised_by_finish_after_the_program() -> None:
    bad = {"es-transport-validity": {"maxLeafValidityHours": "a year"}}
    with (
        pytest.raises(PolicyConfigError),
        StreamedPolicies(stack="dev", config=bad) as policies,
    ):
        run_stack("dev", on_register=policies.submit)
        policies.finish()
    _assert_closed(policies)


def test_check_config_judges_the_config_before_anything_is_registered() -> None:
    bad = {"es-transport-validity": {"maxLeafValidityHours": "a year"}}
    with pytest.raises(PolicyConfigError), StreamedPolicies(stack="dev", config=bad) as policies:
        policies.check_config()
        pytest.fail("check_config let a config the engine refuses pass")
    _assert_closed(policies)
    recording, policies, streamed = _streamed_after_check("dev", STRICT)
    assert streamed == run_policies(records_of(recording), stack="dev", config=STRICT)


def _streamed_after_check(stack: str, config: dict[str, Any]) -> tuple[
        Recording, StreamedPolicies, list[Diagnostic]]:
    with StreamedPolicies(stack=stack, config=config) as policies:
        policies.check_config()
        recording = run_stack(stack, on_register=policies.submit)
        diagnostics = policies.finish()
    return recording, policies, diagnostics
