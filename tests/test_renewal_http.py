"""Generated HTTP certificates renew and re-key across `pulumi up`s as transport ones do.

The same stacks as tests/test_renewal.py with `http.mode: generated`: a certificate whose
renew-before window has opened is re-issued by the program's replacement trigger (the engine
never renews on earlyRenewalHours, pulumi/pulumi-tls#39), and rotation epochs re-key HTTP keys.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from components.certificate_facts import certificate_facts
from components.rotation_state import RENEWAL, RENEWAL_DUE, deployed_clusters
from harness.mock_runtime import EngineState, Recording, reveal
from tests.stack_runs import CERT_REQUEST, LOCALLY_SIGNED, PRIVATE_KEY, cert_of, run_clusters
from tests.test_eck_delivery import SECRET
from tests.test_http_delivery import eck_http_cluster
from tests.test_renewal import (
    NODES,
    RENEW_BEFORE,
    T0,
    VALIDITY,
    assert_renewed_on_day_20,
    at,
    changed,
    cluster,
    nothing_changed,
    public_key,
    seven_weeks,
    up,
)
from tests.test_vm_delivery import NODE_BUNDLE

PER_NODE = {"http": {"mode": "generated", "certificates": "per-node"}}
# Under ECK the certificate is always shared: every pod serves the one in the HTTP Secret.
ECK_LIFETIME = {"nodeCertificates": {"validityDays": VALIDITY, "renewBeforeDays": RENEW_BEFORE}}
SHARED_STACKS = {
    "vm": (
        cluster(http={"mode": "generated", "certificates": "shared"}),
        "logs-http-shared", {(NODE_BUNDLE, f"logs-vm-{n}") for n in NODES}, "es-2",
    ),
    "eck": (
        {**eck_http_cluster(), **ECK_LIFETIME},
        "search-http-shared", {(SECRET, "search-eck-http-cert")}, "search-es-default-1",
    ),
}


def http_entries(recording: Recording, name: str = "logs") -> dict[str, Any]:
    """The stack output `http.<name>.certificates`: role → exported facts."""
    entries: dict[str, Any] = reveal(recording.stack_outputs["http"])[name]["certificates"]
    return entries


def http_step(recording: Recording, node: str, resource: str) -> str:
    return recording.named(f"logs-http-{node}-{resource}").step


def export_as_before_http_renewal(state: EngineState) -> None:
    """Rewrite the last `up`'s `http` output as the program exported it before HTTP renewal
    existed: the certificate facts alone. Resource state needs no rewrite: with every count
    and epoch at 0 the triggers are None, as they were."""
    for entry in state.stack_outputs["http"].values():
        for facts in entry["certificates"].values():
            facts.pop(RENEWAL, None)
            facts.pop(RENEWAL_DUE, None)


@pytest.fixture(scope="module")
def history() -> dict[str, Recording]:
    """tests/test_renewal.py's timeline with per-node HTTP certificates."""
    return seven_weeks(**PER_NODE)


def test_a_rerun_changes_nothing_and_the_inventory_carries_renewal_counts(
    history: dict[str, Recording],
) -> None:
    first, day5 = history["first"], history["day5"]
    assert nothing_changed(day5)
    assert {r.urn: reveal(r.inputs) for r in first} == {r.urn: reveal(r.inputs) for r in day5}
    for node in NODES:
        assert first.named(f"logs-http-{node}-cert").replacement_trigger is None
        assert first.named(f"logs-http-{node}-key").replacement_trigger is None
        entry = http_entries(day5)[node]
        not_after = cert_of(day5.named(f"logs-http-{node}-cert")).not_valid_after_utc
        due = not_after - timedelta(days=RENEW_BEFORE)
        assert (entry[RENEWAL], entry[RENEWAL_DUE]) == (0, f"{due:%Y-%m-%dT%H:%M:%SZ}")


def test_a_node_epoch_rekeys_that_nodes_http_key_too(history: dict[str, Recording]) -> None:
    run, first = history["day12-epoch"], history["first"]
    assert changed(run, "replaced") == {
        (kind, f"logs{layer}-es-3-{part}")
        for layer in ("", "-http")
        for kind, part in ((PRIVATE_KEY, "key"), (CERT_REQUEST, "csr"), (LOCALLY_SIGNED, "cert"))
    }
    assert run.named("logs-http-es-3-key").replacement_trigger == "epoch-0.1"
    assert public_key(run, "logs-http-es-3") != public_key(first, "logs-http-es-3")
    assert public_key(run, "logs-http-es-1") == public_key(first, "logs-http-es-1")


def test_inside_the_window_the_expiring_http_certificates_are_renewed(
    history: dict[str, Recording],
) -> None:
    assert nothing_changed(history["day19"])  # an hour before es-1/es-2 enter their window
    run = history["day20"]
    assert changed(run, "replaced") == {
        (LOCALLY_SIGNED, f"logs{layer}-{node}-cert")
        for layer in ("", "-http") for node in ("es-1", "es-2")
    }
    assert changed(run, "updated") == {(NODE_BUNDLE, "logs-vm-es-1"), (NODE_BUNDLE, "logs-vm-es-2")}
    for node in ("es-1", "es-2"):
        assert_renewed_on_day_20(run, f"logs-http-{node}")
    assert http_step(run, "es-3", "cert") == "same"
    entries = http_entries(run)
    assert (entries["es-1"][RENEWAL], entries["es-3"][RENEWAL]) == (1, 0)
    assert entries["es-1"][RENEWAL_DUE] == "2027-04-10T09:00:00Z"  # new not-after - 10 days
    assert nothing_changed(history["day20-again"])


def test_the_rekeyed_http_certificate_renews_when_its_own_window_opens(
    history: dict[str, Recording],
) -> None:
    run = history["day32"]
    assert changed(run, "replaced") == {
        (LOCALLY_SIGNED, "logs-es-3-cert"), (LOCALLY_SIGNED, "logs-http-es-3-cert")}
    assert run.named("logs-http-es-3-cert").replacement_trigger == "renewal-1"


def test_a_cluster_epoch_rekeys_every_http_key_but_not_the_http_ca() -> None:
    state = EngineState()
    first = up(state, T0, **PER_NODE)
    run = up(state, T0 + timedelta(hours=1), **PER_NODE, rotationEpoch=1)
    assert {name for kind, name in changed(run, "replaced") if kind == PRIVATE_KEY} == {
        f"logs{layer}-{node}-key" for layer in ("", "-http") for node in NODES}
    assert not any(name.startswith("logs-http-ca") for _, name in changed(run, "replaced"))
    for node in NODES:
        assert public_key(run, f"logs-http-{node}") != public_key(first, f"logs-http-{node}")


@pytest.mark.parametrize("delivery", sorted(SHARED_STACKS))
def test_the_shared_http_certificate_renews_and_rekeys(delivery: str) -> None:
    stack, shared, delivered, node = SHARED_STACKS[delivery]
    state = EngineState()

    def run(moment_days: float, **extra: Any) -> Recording:
        return run_clusters([{**stack, **extra}], state=state, clock=at(
            T0 + timedelta(days=moment_days)))

    previous = run(0)
    assert nothing_changed(run(19.9))
    renewed = run(20.1)
    assert changed(renewed, "replaced") >= {(LOCALLY_SIGNED, f"{shared}-cert")}
    assert renewed.named(f"{shared}-cert").replacement_trigger == "renewal-1"
    assert renewed.named(f"{shared}-key").step == "same"
    assert cert_of(renewed.named(f"{shared}-cert")).not_valid_after_utc == (
        T0 + timedelta(days=20.1 + VALIDITY))
    assert changed(renewed, "updated") >= delivered  # every node gets the renewed certificate
    assert nothing_changed(run(20.2))
    # Every node holds the shared key: the cluster's epoch and any one node's re-key it.
    for epochs in ({"rotationEpoch": 1}, {"rotationEpoch": 1, "nodeRotationEpochs": {node: 1}}):
        rekeyed = run(21, **epochs)
        assert rekeyed.named(f"{shared}-key").step == "replace"
        assert public_key(rekeyed, shared) != public_key(previous, shared)
        previous = rekeyed


def test_an_upgrade_from_an_inventory_without_renewal_counts_replaces_nothing() -> None:
    state = EngineState()
    first = up(state, T0, **PER_NODE)
    export_as_before_http_renewal(state)
    exported = reveal(state.stack_outputs["http"])["logs"]["certificates"]["es-1"]
    issued = reveal(first.named("logs-http-es-1-cert").outputs["certPem"])
    assert exported == certificate_facts(str(issued))  # what the previous version exported
    assert nothing_changed(up(state, T0 + timedelta(days=5), **PER_NODE))
    # Inside the window an old inventory counts as 0: the first renewal, not a later one.
    export_as_before_http_renewal(state)
    run = up(state, T0 + timedelta(days=20, hours=1), **PER_NODE)
    assert changed(run, "replaced") == {
        (LOCALLY_SIGNED, f"logs{layer}-{node}-cert") for layer in ("", "-http") for node in NODES}
    assert {run.named(f"logs-http-{n}-cert").replacement_trigger for n in NODES} == {"renewal-1"}
    assert {http_entries(run)[n][RENEWAL] for n in NODES} == {1}


def test_epochs_raised_before_the_upgrade_rekey_the_http_keys_once() -> None:
    """The previous version gave HTTP keys no trigger whatever the epochs: those raised before
    the upgrade reach the HTTP keys on its first `up`, and only then (docs/http.md)."""
    state = EngineState()
    raised = {**PER_NODE, "rotationEpoch": 1}
    first = up(state, T0, **raised)
    export_as_before_http_renewal(state)
    for urn, stored in list(state.resources.items()):
        if "logs-http-es-" in urn and stored.type == PRIVATE_KEY:
            state.resources[urn] = dataclasses.replace(stored, replacement_trigger=None)
    upgrade = up(state, T0 + timedelta(days=1), **raised)
    assert {name for kind, name in changed(upgrade, "replaced") if kind == PRIVATE_KEY} == {
        f"logs-http-{node}-key" for node in NODES}
    assert public_key(upgrade, "logs-http-es-1") != public_key(first, "logs-http-es-1")
    assert nothing_changed(up(state, T0 + timedelta(days=2), **raised))


def test_only_generated_http_certificates_are_read_back() -> None:
    facts = {"serial": "1", "fingerprintSha256": "AA", "notAfter": "2027-03-31T08:00:00Z"}
    clusters: dict[str, object] = {name: {"nodes": {}} for name in ("old", "counted", "provided")}
    http = {
        "old": {"mode": "generated", "certificates": {"es-1": facts}},
        "counted": {"mode": "generated", "certificates": {"shared": {**facts, RENEWAL: 2.0}}},
        "provided": {"mode": "provided", "certificates": {"shared": facts}},
    }
    deployed = deployed_clusters(clusters, http)
    assert deployed["old"].http_certificates["es-1"].renewal == 0
    assert deployed["counted"].http_certificates["shared"].renewal == 2
    assert deployed["provided"].http_certificates == {}


def test_under_ca_to_eck_a_cluster_epoch_rekeys_the_shared_http_certificate_only() -> None:
    """ECK keys the pods in ca-to-eck mode (an epoch without HTTP is refused, tests/
    test_config_eck.py); with a generated HTTP certificate the epoch re-keys that."""
    stack = {**eck_http_cluster(), **ECK_LIFETIME}
    stack["eck"] = {**stack["eck"], "certificates": "ca-to-eck"}
    state = EngineState()
    first = run_clusters([stack], state=state, clock=at(T0))
    rekeyed = run_clusters([{**stack, "rotationEpoch": 1}], state=state,
                           clock=at(T0 + timedelta(days=1)))
    assert {name for _, name in changed(rekeyed, "replaced")} == {
        f"search-http-shared-{role}" for role in ("key", "csr", "cert")}
    assert public_key(rekeyed, "search-http-shared") != public_key(first, "search-http-shared")


def test_the_shared_http_key_follows_any_change_of_the_node_epochs() -> None:
    """es-1 (epoch 1) is decommissioned, so its entry must go (config refuses unknown nodes),
    and es-2 is compromised (0 -> 1). A sum of the node epochs is 1 both times; the shared key,
    which es-2 holds, must still be replaced."""
    def stack(nodes: list[str], epochs: dict[str, int]) -> dict[str, Any]:
        config = cluster(http={"mode": "generated", "certificates": "shared"},
                         nodeRotationEpochs=epochs)
        config["nodes"] = [{"name": n, "dns": [f"{n}.logs.internal"]} for n in nodes]
        return config

    state = EngineState()
    first = run_clusters([stack(["es-1", "es-2", "es-3"], {"es-1": 1})], state=state,
                         clock=at(T0))
    run = run_clusters([stack(["es-2", "es-3"], {"es-2": 1})], state=state,
                       clock=at(T0 + timedelta(days=1)))
    replaced = {name for _, name in changed(run, "replaced")}
    assert {"logs-es-2-key", "logs-http-shared-key"} <= replaced
    assert public_key(run, "logs-http-shared") != public_key(first, "logs-http-shared")
    # And nothing moves while the epochs stay as they are.
    again = run_clusters([stack(["es-2", "es-3"], {"es-2": 1})], state=state,
                         clock=at(T0 + timedelta(days=2)))
    assert nothing_changed(again)
