"""Node certificate renewal and rotation epochs across `pulumi up`s with a controllable clock.

The engine state never renews on earlyRenewalHours (pulumi/pulumi-tls#39), so every renewal
seen here comes from the program's own replacement trigger, computed from the last deployment's
exported not-after.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from components.model import Lifetime
from components.model_rotation import DeployedNode
from components.rotation import renewal_count
from harness.mock_runtime import EngineState, Recording, reveal
from tests.stack_runs import CERT_REQUEST, LOCALLY_SIGNED, PRIVATE_KEY, cert_of, run_clusters
from tests.test_vm_delivery import NODE_BUNDLE

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
VALIDITY, RENEW_BEFORE = 30, 10
NODES = ("es-1", "es-2", "es-3")


def cluster(**extra: Any) -> dict[str, Any]:
    return {
        "name": "logs", "delivery": "vm",
        "nodeCertificates": {"validityDays": VALIDITY, "renewBeforeDays": RENEW_BEFORE},
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in NODES],
        **extra,
    }


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def up(state: EngineState, moment: datetime, **extra: Any) -> Recording:
    return run_clusters([cluster(**extra)], state=state, clock=at(moment))


def changed(recording: Recording, step: str) -> set[tuple[str, str]]:
    """(type, name) of every resource the run put in `step` (created, replaced, ...)."""
    urns = getattr(recording.changes, step)
    return {(recording.by_urn(u).type, recording.by_urn(u).name) for u in urns}


def public_key(recording: Recording, certificate: str) -> bytes:
    """The public key of the certificate `<certificate>-cert` (e.g. `logs-es-1`)."""
    return cert_of(recording.named(f"{certificate}-cert")).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def nothing_changed(recording: Recording) -> bool:
    changes = recording.changes
    return not (changes.created or changes.updated or changes.replaced or changes.deleted)


def seven_weeks(**extra: Any) -> dict[str, Recording]:
    """One stack (`cluster(**extra)`) through its first 7 weeks: es-3 re-keyed on day 12, the
    others renewed once their window opens on day 20, es-3 once its window opens on day 32."""
    state = EngineState()
    epoch = {**extra, "nodeRotationEpochs": {"es-3": 1}}
    timeline = [
        ("first", timedelta(0), extra), ("day5", timedelta(days=5), extra),
        ("day12-epoch", timedelta(days=12), epoch),
        ("day19", timedelta(days=19, hours=23), epoch),
        ("day20", timedelta(days=20, hours=1), epoch),
        ("day20-again", timedelta(days=20, hours=9), epoch),
        ("day32", timedelta(days=32, hours=1), epoch),
    ]
    return {name: up(state, T0 + offset, **config) for name, offset, config in timeline}


@pytest.fixture(scope="module")
def history() -> dict[str, Recording]:
    return seven_weeks()


def test_a_rerun_before_any_window_changes_nothing(history: dict[str, Recording]) -> None:
    assert nothing_changed(history["day5"])
    first, day5 = history["first"], history["day5"]
    assert {r.urn: reveal(r.inputs) for r in first} == {r.urn: reveal(r.inputs) for r in day5}
    assert all(r.replacement_trigger is None for r in first.of_type(LOCALLY_SIGNED))


def test_a_node_epoch_rekeys_exactly_that_node(history: dict[str, Recording]) -> None:
    run = history["day12-epoch"]
    assert changed(run, "replaced") == {
        (PRIVATE_KEY, "logs-es-3-key"), (CERT_REQUEST, "logs-es-3-csr"),
        (LOCALLY_SIGNED, "logs-es-3-cert")}
    assert changed(run, "updated") == {(NODE_BUNDLE, "logs-vm-es-3")}  # delivery follows
    assert run.named("logs-es-3-key").replacement_trigger == "epoch-0.1"
    assert public_key(run, "logs-es-3") != public_key(history["first"], "logs-es-3")
    assert public_key(run, "logs-es-1") == public_key(history["first"], "logs-es-1")


def assert_renewed_on_day_20(run: Recording, certificate: str) -> None:
    """`<certificate>-cert` was re-issued on day 20 (the first renewal) with its key kept."""
    renewed = run.named(f"{certificate}-cert")
    assert renewed.replacement_trigger == "renewal-1"
    assert run.named(f"{certificate}-key").step == "same"  # renewal keeps the key
    assert cert_of(renewed).not_valid_after_utc == T0 + timedelta(days=20 + VALIDITY, hours=1)


def test_inside_the_window_only_the_expiring_certificates_are_replaced(
    history: dict[str, Recording],
) -> None:
    assert nothing_changed(history["day19"])  # an hour before es-1/es-2 enter their window
    run = history["day20"]
    assert changed(run, "replaced") == {
        (LOCALLY_SIGNED, "logs-es-1-cert"), (LOCALLY_SIGNED, "logs-es-2-cert")}
    assert changed(run, "updated") == {
        (NODE_BUNDLE, "logs-vm-es-1"), (NODE_BUNDLE, "logs-vm-es-2")}
    for node in ("es-1", "es-2"):
        assert_renewed_on_day_20(run, f"logs-{node}")
    assert run.named("logs-es-3-cert").step == "same"
    assert run.named("logs-es-3-cert").replacement_trigger is None
    nodes = reveal(run.stack_outputs["clusters"])["logs"]["nodes"]
    assert nodes["es-1"]["renewal"] == 1 and nodes["es-3"]["renewal"] == 0
    assert nodes["es-1"]["renewalDue"] == "2027-04-10T09:00:00Z"  # new not-after - 10 days


def test_the_same_day_after_a_renewal_changes_nothing(history: dict[str, Recording]) -> None:
    again = history["day20-again"]
    assert nothing_changed(again)
    assert {r.urn: reveal(r.inputs) for r in history["day20"]} == {
        r.urn: reveal(r.inputs) for r in again}


def test_the_rekeyed_node_renews_when_its_own_window_opens(
    history: dict[str, Recording],
) -> None:
    # es-3 was re-issued on day 12, so its window opens on day 32; es-1/es-2 wait for day 40.
    run = history["day32"]
    assert changed(run, "replaced") == {(LOCALLY_SIGNED, "logs-es-3-cert")}
    assert run.named("logs-es-3-cert").replacement_trigger == "renewal-1"


def test_a_cluster_epoch_rekeys_every_node_of_that_cluster_only() -> None:
    state = EngineState()
    other = {"name": "metrics", "delivery": "vm", "nodes": [{"name": "m-1", "dns": ["m-1.x"]}]}
    clusters = [cluster(), other]
    run_clusters(clusters, state=state, clock=at(T0))
    bumped = copy.deepcopy(clusters)
    bumped[0]["rotationEpoch"] = 1
    run = run_clusters(bumped, state=state, clock=at(T0 + timedelta(hours=1)))
    assert {name for kind, name in changed(run, "replaced") if kind == PRIVATE_KEY} == {
        f"logs-{n}-key" for n in NODES}
    assert not any(name.startswith("metrics") for _, name in changed(run, "replaced"))
    assert not any(name.startswith("logs-ca") for _, name in changed(run, "replaced"))
    assert run.named("metrics-m-1-key").replacement_trigger is None


@pytest.mark.parametrize(
    ("days_before_expiry", "expected"), [(11, 4), (10, 5), (0, 5), (-3, 5)]
)
def test_renewal_count_advances_from_the_start_of_the_window(
    days_before_expiry: int, expected: int
) -> None:
    not_after = T0 + timedelta(days=60)
    now = not_after - timedelta(days=days_before_expiry)
    assert renewal_count(DeployedNode(not_after, 4), Lifetime(90, 10), now) == expected
    assert renewal_count(None, Lifetime(90, 10), now) == 0  # first deployment / new node


def test_a_changed_renew_before_alone_updates_certificates_in_place_and_reissues_none() -> None:
    """pulumi-tls updates early_renewal_hours in place (terraform-provider-tls: no
    RequiresReplace on it): a wider window that has not opened yet re-issues nothing, and no
    node's files change; one that has opened renews through the program's trigger."""
    state = EngineState()
    first = up(state, T0)
    wider = {"validityDays": VALIDITY, "renewBeforeDays": 15}
    run = run_clusters([cluster(nodeCertificates=wider)], state=state,
                       clock=at(T0 + timedelta(days=5)))
    assert changed(run, "updated") == {(LOCALLY_SIGNED, f"logs-{n}-cert") for n in NODES}
    assert not (run.changes.replaced or run.changes.created or run.changes.deleted)
    for node in NODES:
        before, after = first.named(f"logs-{node}-cert"), run.named(f"logs-{node}-cert")
        assert after.outputs["certPem"] == before.outputs["certPem"]
        assert after.outputs["earlyRenewalHours"] == 15 * 24
    opened = run_clusters([cluster(nodeCertificates=wider)], state=state,
                          clock=at(T0 + timedelta(days=16)))
    assert changed(opened, "replaced") == {(LOCALLY_SIGNED, f"logs-{n}-cert") for n in NODES}
