"""Which CA rotation steps may follow the last deployed one: illegal jumps are refused before
anything is registered (zero resources changed); rolling back is legal; ECK gets the same
ordering in both modes."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509

from components.config import ConfigError
from harness.mock_runtime import EngineState, Recording, reveal
from tests.stack_runs import LOCALLY_SIGNED, cert_of, run_clusters

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
STEP_KEY = "clusters[0].ca.rotation.step"


def cluster(ca: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "logs", "delivery": "vm", "vm": {"writeLocalFiles": False}, "ca": ca,
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in ("es-1", "es-2")],
    }


def step(name: str | None, generation: int = 1) -> dict[str, Any]:
    ca: dict[str, Any] = {"generation": generation} if generation != 1 else {}
    return ca | ({"rotation": {"step": name}} if name else {})


class Stack:
    """One stack's EngineState and the config of its successive `up`s. `protect_ca` is the
    stack key `protectCa` (on by default outside dev)."""

    def __init__(self, protect_ca: bool = True) -> None:
        self.state = EngineState()
        self.runs = 0
        self.protect_ca = protect_ca

    def up(self, ca: dict[str, Any]) -> Recording:
        self.runs += 1
        moment = T0 + timedelta(hours=self.runs)
        return run_clusters(
            [cluster(ca)], state=self.state, clock=lambda: moment,
            settings={"protectCa": self.protect_ca},
        )

    def refused(self, ca: dict[str, Any], key: str, *fragments: str) -> None:
        before = copy.deepcopy(self.state.resources)
        outputs = copy.deepcopy(self.state.stack_outputs)
        with pytest.raises(ConfigError) as refused:
            self.up(ca)
        message = str(refused.value)
        assert f"es-transport-pki:{key}:" in message
        for fragment in fragments:
            assert fragment in message, message
        # Nothing registered, nothing changed, and the deployed state stays the reference.
        assert self.state.resources == before and self.state.stack_outputs == outputs


def at(ca: dict[str, Any], *steps: dict[str, Any], protect_ca: bool = True) -> Stack:
    stack = Stack(protect_ca)
    for config in (ca, *steps):
        stack.up(config)
    return stack


@pytest.mark.parametrize(
    ("deployed", "wanted", "key", "fragments"),
    [
        # 1 -> 3 straight: the deployed certificates come from g1, which retire drops.
        ([step(None), step("introduce")], step("retire"), STEP_KEY,
         ["deploy step 'switch' first", "issued by g1"]),
        # Swapping the CA in one update: g2 would issue before anyone trusts it.
        ([step(None)], step(None, generation=2), "clusters[0].ca.generation",
         ["deploy step 'introduce' first", "do not trust it yet"]),
        # Introduce and switch at once.
        ([step(None)], step("switch"), STEP_KEY, ["deploy step 'introduce' first"]),
        ([step(None)], step("retire"), STEP_KEY, ["deploy step 'introduce' first"]),
    ],
    ids=["introduce->retire", "swap-in-one-update", "steady->switch", "steady->retire"],
)
@pytest.mark.parametrize("protect_ca", [True, False], ids=["protected", "unprotected"])
def test_illegal_jumps_are_refused_and_change_nothing(
    deployed: list[dict[str, Any]], wanted: dict[str, Any], key: str, fragments: list[str],
    protect_ca: bool,
) -> None:
    at(*deployed, protect_ca=protect_ca).refused(wanted, key, *fragments)


RETIRED = [step(None), step("introduce"), step("switch"), step("retire")]
G1 = {"logs-ca", "logs-ca-key", "logs-ca-cert"}
G2 = {"logs-ca-g2", "logs-ca-g2-key", "logs-ca-g2-cert"}


def names(urns: list[str]) -> set[str]:
    return {urn.rsplit("::", 1)[1] for urn in urns}


def test_back_from_retire_is_refused_once_the_old_generation_is_destroyed() -> None:
    # Unprotected: `retire` destroys g1 in the same `up`; a protected stack, by the cleanup.
    at(*RETIRED, protect_ca=False).refused(
        step("switch"), STEP_KEY, "g1 is older than every generation in service and not in "
        "this stack's state (retired and its key destroyed, or never deployed here)",
        "ca.generation to 2"
    )
    at(*RETIRED, step(None, generation=2)).refused(
        step("switch"), STEP_KEY, "g1 is older than every generation in service"
    )


def test_a_generation_never_deployed_is_refused_without_claiming_it_was_retired() -> None:
    """A first `up` may start at `retire`: g1 never existed on the stack, so it cannot come
    back either, and the refusal does not say it was retired."""
    at(step("retire")).refused(
        step("switch"), STEP_KEY, "or never deployed here); it cannot come back",
        "ca.generation to 2",
    )


def test_a_protected_stack_can_roll_back_from_retire_until_the_next_up() -> None:
    """Retire only lifted g1's protection: `switch` again brings it back, protected."""
    stack = at(*RETIRED)
    back = stack.up(step("switch"))
    assert back.changes.deleted == [] and back.changes.created == []
    assert back.named("logs-ca-cert").protect is True
    assert all(r.step == "same" for r in back.of_type(LOCALLY_SIGNED))  # g2 still issues


@pytest.mark.parametrize("protect_ca", [True, False], ids=["protected", "unprotected"])
def test_rollback_from_introduce_and_from_switch_is_legal(protect_ca: bool) -> None:
    stack = at(step(None), step("introduce"), step("switch"), protect_ca=protect_ca)
    back_to_introduce = stack.up(step("introduce"))
    g1 = cert_of(back_to_introduce.named("logs-ca-cert"))
    for cert in back_to_introduce.of_type(LOCALLY_SIGNED):
        assert cert.step == "replace"
        cert_of(cert).verify_directly_issued_by(g1)  # re-issued by the old CA again
    back_to_steady = stack.up(step(None))
    assert back_to_steady.changes.replaced == []
    if protect_ca:
        # g2 leaves every trust list but is only unprotected; the next `up` deletes it.
        assert back_to_steady.changes.deleted == []
        assert back_to_steady.named("logs-ca-g2-key").protect is False
        assert names(stack.up(step(None)).changes.deleted) == G2
    else:
        assert names(back_to_steady.changes.deleted) == G2


@pytest.mark.parametrize("protect_ca", [True, False], ids=["protected", "unprotected"])
def test_after_retire_the_new_generation_is_the_steady_state(protect_ca: bool) -> None:
    stack = at(*RETIRED, protect_ca=protect_ca)
    # The cleanup edit (ca.generation: 2, no rotation) describes what is deployed; a
    # protected stack's cleanup `up` deletes g1, whose protection retire lifted.
    finished = stack.up(step(None, generation=2))
    assert names(finished.changes.deleted) == (G1 if protect_ca else set())
    assert not (finished.changes.created or finished.changes.replaced
                or finished.changes.updated)
    assert stack.up(step(None, generation=2)).changes.deleted == []
    # The next rotation introduces g3 under a name of its own.
    again = stack.up(step("introduce", generation=2))
    assert {again.by_urn(u).name for u in again.changes.created} == {
        "logs-ca-g3", "logs-ca-g3-key", "logs-ca-g3-cert"}


def test_a_first_deployment_may_start_at_any_step() -> None:
    recording = Stack().up(step("switch"))
    g2 = cert_of(recording.named("logs-ca-g2-cert"))
    cert_of(recording.named("logs-es-1-cert")).verify_directly_issued_by(g2)


def test_a_stack_without_rotation_outputs_counts_as_generation_1() -> None:
    stack = at(step(None))
    exported = stack.state.stack_outputs["clusters"]
    assert isinstance(exported, dict)
    del exported["logs"]["rotation"]  # as exported before rotation existed
    stack.refused(step("switch"), STEP_KEY, "deploy step 'introduce' first")
    assert stack.up(step("introduce")).changes.created


def test_a_provided_ca_does_not_take_rotation_keys() -> None:
    with pytest.raises(ConfigError) as refused:
        Stack().up({"mode": "provided", "generation": 2, "rotation": {"step": "introduce"}})
    message = str(refused.value)
    assert "clusters[0].ca.generation: only a generated CA rotates" in message
    assert "clusters[0].ca.rotation: only a generated CA rotates" in message


# --- ECK -----------------------------------------------------------------------------------


def eck_cluster(certificates: str, ca: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "search", "delivery": "eck", "ca": ca,
        "eck": {"name": "search", "namespace": "es", "version": "8.19.2",
                "certificates": certificates, "nodeSets": [{"name": "default", "count": 2}]},
    }


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def decoded(data: dict[str, str], key: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(base64.b64decode(data[key]))


@pytest.mark.parametrize("certificates", ["per-node", "ca-to-eck"])
def test_eck_trust_config_map_carries_every_live_generation(certificates: str) -> None:
    state = EngineState()
    seen: dict[str, tuple[list[x509.Certificate], list[x509.Certificate]]] = {}
    for hours, name in enumerate((None, "introduce", "switch", "retire")):
        moment = T0 + timedelta(hours=hours)
        run = run_clusters([eck_cluster(certificates, step(name))], state=state,
                           clock=fixed(moment))
        trust = reveal(run.named("search-eck-trust").inputs["data"])
        trusted = x509.load_pem_x509_certificates(trust["ca.crt"].encode())
        if certificates == "ca-to-eck":
            issuing = decoded(reveal(run.named("search-eck-ca-secret").inputs["data"]), "ca.crt")
        else:
            issuing = [cert_of(run.named("search-ca-g2-cert" if name in ("switch", "retire")
                                         else "search-ca-cert"))]
        seen[name or "steady"] = (trusted, issuing)
    g1, g2 = seen["introduce"][0]
    # ECK's CA Secret holds exactly one certificate (the issuing generation), switched only
    # after every pod trusts the new one; the old CA leaves the ConfigMap last.
    assert seen["steady"] == ([g1], [g1])
    assert seen["introduce"] == ([g1, g2], [g1])
    assert seen["switch"] == ([g1, g2], [g2])
    assert seen["retire"] == ([g2], [g2])


# --- config problems and deployment problems in one run -----------------------------------


def test_an_illegal_step_is_reported_with_another_clusters_config_problem() -> None:
    """One run names both: the config problem of a second cluster and the first cluster's
    jump past the deployed step (nothing registered)."""
    stack = at(step(None))
    second = cluster({}) | {"name": "audit", "nodes": [{"name": "a-1", "dns": ["a-1.internal"]}],
                            "vm": {"writeLocalFiles": False, "fromat": "pem"}}
    before = copy.deepcopy(stack.state.resources)
    with pytest.raises(ConfigError) as refused:
        run_clusters([cluster(step("switch")), second], state=stack.state, clock=lambda: T0,
                     settings={"protectCa": True})
    keys = [problem.key for problem in refused.value.problems]
    assert keys == ["clusters[1].vm.fromat", STEP_KEY], refused.value.problems
    assert "deploy step 'introduce' first" in str(refused.value)
    assert stack.state.resources == before


def test_a_cluster_with_a_config_problem_is_not_also_judged_against_the_deployment() -> None:
    """Its spec is incomplete: a step judged from it could be a consequence of the problem."""
    stack = at(step(None))
    broken = cluster(step("switch")) | {"vm": {"writeLocalFiles": False, "fromat": "pem"}}
    with pytest.raises(ConfigError) as refused:
        run_clusters([broken], state=stack.state, clock=lambda: T0, settings={"protectCa": True})
    assert [p.key for p in refused.value.problems] == ["clusters[0].vm.fromat"]


def test_a_dropped_protected_cluster_is_reported_with_a_config_problem() -> None:
    stack = at(step(None))
    other = cluster({}) | {"name": "audit", "delivery": "vmm"}
    with pytest.raises(ConfigError) as refused:
        run_clusters([other], state=stack.state, clock=lambda: T0, settings={"protectCa": True})
    problems = {p.key: p.message for p in refused.value.problems}
    assert problems.keys() == {"clusters[0].delivery", "clusters"}, problems
    assert "cluster 'logs' is deployed with protected CA resources" in problems["clusters"]


def test_no_cluster_is_called_unconfigured_while_an_entry_has_no_readable_name() -> None:
    """`logs` may be the entry whose name is wrong: only the name is reported."""
    stack = at(step(None))
    with pytest.raises(ConfigError) as refused:
        run_clusters([cluster({}) | {"name": "Logs"}], state=stack.state, clock=lambda: T0,
                     settings={"protectCa": True})
    assert [p.key for p in refused.value.problems] == ["clusters[0].name"]
