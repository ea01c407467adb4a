"""The mock runtime runs dynamic providers as the engine does: check, diff against stored outputs,
create / update / replace / delete, secrets, preview without writes."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi.dynamic as dyn
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from harness import dynamic_providers
from harness.mock_runtime import EngineState, Recording, Secret, reveal, run_program

# What the provider was asked to do, in order (the provider is pickled by reference, so the
# instance the harness loads from `__provider` writes here).
CALLS: list[tuple[str, Any]] = []


class CountingProvider(dyn.ResourceProvider):
    """Replaces on a changed `zone`, deletes first when `exclusive`; refuses `value` < 0."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        CALLS.append(("check", news["value"]))
        failures = [dyn.CheckFailure("value", "must be >= 0")] if news["value"] < 0 else []
        return dyn.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        CALLS.append(("diff", news["value"]))
        replace = olds["zone"] != news["zone"]
        return dyn.DiffResult(
            changes=olds["value"] != news["value"] or replace,
            replaces=["zone"] if replace else [],
            delete_before_replace=bool(news.get("exclusive")),
        )

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        CALLS.append(("create", props["value"]))
        return dyn.CreateResult(f"id-{props['zone']}", self._outs(props))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        CALLS.append(("update", (id_, olds["doubled"], news["value"])))
        return dyn.UpdateResult(self._outs(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        CALLS.append(("delete", (id_, props["doubled"])))

    @staticmethod
    def _outs(props: dict[str, Any]) -> dict[str, Any]:
        return {"value": props["value"], "doubled": props["value"] * 2, "zone": props["zone"],
                "token": "t0ken"}


class Counter(dyn.Resource, module="tests", name="Counter"):
    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(CountingProvider(), name, {**props, "doubled": None, "token": None}, opts)


def program(value: int, zone: str = "a", *, exclusive: bool = False, secret: bool = False,
            present: bool = True) -> Callable[[], None]:
    def run() -> None:
        if present:
            opts = pulumi.ResourceOptions(additional_secret_outputs=["token"])
            given = pulumi.Output.secret(value) if secret else value
            Counter("c", {"value": given, "zone": zone, "exclusive": exclusive}, opts)
    return run


def up(state: EngineState, prog: Callable[[], None], *, preview: bool = False) -> Recording:
    CALLS.clear()
    return run_program(prog, state=state, preview=preview)


def test_create_then_same_then_update_with_provider_outputs_and_secrets() -> None:
    state = EngineState()
    created = up(state, program(3, secret=True))
    [reg] = created.registrations
    assert reg.type == "pulumi-python:dynamic/tests:Counter" and reg.step == "create"
    assert CALLS == [("check", 3), ("create", 3)]
    assert reg.id == "id-a" and reveal(reg.outputs["doubled"]) == 6
    # Same-named output of a secret input, and additionalSecretOutputs, come back secret.
    assert isinstance(reg.outputs["value"], Secret)
    assert isinstance(reg.outputs["token"], Secret)
    assert not isinstance(reg.outputs["doubled"], Secret)
    assert "__provider" in reg.outputs

    same = up(state, program(3, secret=True))
    assert same.registrations[0].step == "same" and CALLS == [("check", 3), ("diff", 3)]

    updated = up(state, program(4))
    assert updated.registrations[0].step == "update"
    assert CALLS == [("check", 4), ("diff", 4), ("update", ("id-a", 6, 4))]
    assert updated.registrations[0].outputs["doubled"] == 8
    assert updated.registrations[0].outputs["value"] == 4  # a plain input: a plain output


def test_replace_creates_before_deleting_unless_the_diff_says_otherwise() -> None:
    state = EngineState()
    up(state, program(1))
    replaced = up(state, program(1, "b"))
    assert replaced.registrations[0].step == "replace" and replaced.registrations[0].id == "id-b"
    assert CALLS[-2:] == [("create", 1), ("delete", ("id-a", 2))]

    up(state, program(1, "c", exclusive=True))
    assert CALLS[-2:] == [("delete", ("id-b", 2)), ("create", 1)]


def test_a_resource_leaving_the_program_is_deleted_by_its_provider() -> None:
    state = EngineState()
    up(state, program(5))
    gone = up(state, program(5, present=False))
    assert CALLS == [("delete", ("id-a", 10))] and len(gone.changes.deleted) == 1
    assert state.resources == {}


def test_preview_checks_and_diffs_but_never_writes() -> None:
    state = EngineState()
    up(state, program(1), preview=True)
    assert CALLS == [("check", 1)] and state.resources == {}
    up(state, program(1))
    preview = up(state, program(2), preview=True)
    assert CALLS == [("check", 2), ("diff", 2)]
    assert preview.registrations[0].step == "update"


def test_check_failures_fail_the_run_naming_the_property() -> None:
    with pytest.raises(Exception, match=r"check failed: value: must be >= 0"):
        up(EngineState(), program(-1))
    assert ("create", -1) not in CALLS


class Reading(CountingProvider):
    """Reads a changed output back. At module level so dill pickles it by reference: a class
    defined in the test was pickled by value, and that recursed into whatever the worker had
    loaded (a RecursionError in some test orders)."""

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        return dyn.ReadResult(id_, {**props, "doubled": 0})


def test_refresh_replaces_stored_outputs_with_what_read_returns() -> None:
    state = EngineState()
    up(state, program(2))
    [urn] = state.resources
    assert dynamic_providers.refresh(state) == []  # the default read returns props unchanged
    stored = state.resources[urn]
    state.resources[urn] = type(stored)(
        stored.type, stored.custom, stored.inputs, stored.replacement_trigger, stored.id,
        {**stored.outputs, "__provider": serialize_provider(Reading())},
    )
    assert dynamic_providers.refresh(state) == [urn]
    assert state.resources[urn].outputs["doubled"] == 0
    assert isinstance(state.resources[urn].outputs["token"], dict)  # still secret-wrapped


# Steps of SlowProvider running at this moment, and the most seen at once.
RUNNING = {"now": 0, "most": 0}
RUNNING_LOCK = threading.Lock()


class SlowProvider(dyn.ResourceProvider):
    """A create that takes a while (like a bundle's fsyncs) and counts its overlaps."""

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        with RUNNING_LOCK:
            RUNNING["now"] += 1
            RUNNING["most"] = max(RUNNING["most"], RUNNING["now"])
        time.sleep(0.05)
        with RUNNING_LOCK:
            RUNNING["now"] -= 1
        return dyn.CreateResult(f"id-{props['n']}", dict(props))


class Slow(dyn.Resource, module="tests", name="Slow"):
    def __init__(self, name: str, n: int) -> None:
        super().__init__(SlowProvider(), name, {"n": n})


def test_provider_steps_run_outside_the_monitor_lock_at_most_4_at_once() -> None:
    """As the Python provider host (a 4-thread pool): steps overlap, never more than 4."""
    def twelve() -> None:
        for n in range(12):
            Slow(f"s{n}", n)

    RUNNING.update(now=0, most=0)
    run = run_program(twelve, state=EngineState())
    assert len(run.changes.created) == 12
    assert 2 <= RUNNING["most"] <= 4


class FailingProvider(dyn.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        raise OSError(f"cannot write {props['path']}")


class Failing(dyn.Resource, module="tests", name="Failing"):
    written: pulumi.Output[str]

    def __init__(self, name: str, path: str) -> None:
        super().__init__(FailingProvider(), name, {"path": path, "written": None})


def test_a_failed_create_is_raised_once_and_not_logged_again_when_collected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The SDK sets the error on the resource's output futures too, which nothing awaits; the
    run raises it, so it must not come back as "exception was never retrieved". Anything
    else left unretrieved is still logged."""
    def failing() -> None:
        pulumi.export("written", Failing("f", "/nowhere").written)
        other = asyncio.get_event_loop().create_future()
        other.set_exception(ValueError("another error nobody retrieved"))

    with pytest.raises(OSError, match="cannot write /nowhere"):
        run_program(failing, state=EngineState())
    # The next run resets the SDK's state, which held the failed run's futures.
    run_program(lambda: None)
    gc.collect()
    logged = [r.getMessage() + str(r.exc_info) for r in caplog.records if r.name == "asyncio"]
    assert len(logged) == 1 and "another error nobody retrieved" in logged[0]


def test_every_failed_create_is_reported_once_each_other_one_as_a_note_in_urn_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As the engine reports every resource that failed: the run raises one error and notes
    the others, so none is lost and none comes back, when its futures are collected, as
    "exception was never retrieved" (logged from inside whatever runs then: on Python
    3.11.7 inside pytest's own `ast.parse`, which then failed the session)."""
    def three_failing() -> None:
        for name in ("c", "a", "b"):
            Failing(name, f"/nowhere/{name}")

    with pytest.raises(OSError, match=r"cannot write /nowhere/[abc]") as failure:
        run_program(three_failing, state=EngineState())
    raised = str(failure.value)[-1]
    others = sorted({"a", "b", "c"} - {raised})
    assert failure.value.__notes__ == [
        "also failed: urn:pulumi:dev::es-transport-pki::pulumi-python:dynamic/tests:Failing::"
        f"{name}: OSError: cannot write /nowhere/{name}"
        for name in others
    ]
    run_program(lambda: None)
    gc.collect()
    assert not [r for r in caplog.records if r.name == "asyncio"]
