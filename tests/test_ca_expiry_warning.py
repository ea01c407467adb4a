"""The warning every `up` gives once a cluster's CA is inside its renew-before window: advice
the config then accepts, for a generated CA and for a provided one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from components.config import ConfigError, parse_stack_config
from components.rotation_state import deployed_clusters
from harness.mock_runtime import EngineState, reveal
from tests.stack_runs import run_clusters
from tests.x509_factory import make_ca

NODES = [{"name": "es-1", "dns": ["es-1.logs.internal"]}]
NODE_LIFETIME = {"validityDays": 90, "renewBeforeDays": 30}


def _warnings_a_day_later(cluster: dict[str, Any], start: datetime) -> list[str]:
    """The warnings of the second `up`: the first one has no deployed CA to judge."""
    state = EngineState()
    first = run_clusters([cluster], state=state, secret=True, clock=lambda: start)
    assert not [w for w in first.warnings if "renew-before window" in w]
    later = run_clusters([cluster], state=state, secret=True,
                         clock=lambda: start + timedelta(days=1))
    return [w for w in later.warnings if "renew-before window" in w]


def _accepted(cluster: dict[str, Any], now: datetime) -> list[str]:
    try:
        parse_stack_config({"clusters": [cluster]}, stack="test", now=now,
                           secret_keys={"clusters"})
    except ConfigError as err:
        return [f"{p.key}: {p.message}" for p in err.problems]
    return []


def test_a_generated_ca_in_its_window_is_to_be_rotated_with_steps_the_config_accepts() -> None:
    start = datetime(2027, 3, 1, tzinfo=UTC)
    cluster: dict[str, Any] = {
        "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
        "ca": {"validityDays": 200, "renewBeforeDays": 199},
    }
    [warning] = _warnings_a_day_later(cluster, start)
    assert warning.startswith("cluster logs: CA generation g1 expires on 2027-09-17")
    assert "ca.generation: 1, ca.rotation.step: introduce" in warning
    advised = {**cluster, "ca": {**cluster["ca"], "generation": 1,
                                 "rotation": {"step": "introduce"}}}
    assert _accepted(advised, start) == []


def test_a_ca_in_its_window_during_its_own_rotation_is_to_be_rotated_on() -> None:
    """Its successor is introduced already: the advice is the next step, which the config
    accepts, not `introduce` again (the step deployed)."""
    start = datetime(2027, 3, 1, tzinfo=UTC)
    cluster: dict[str, Any] = {
        "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
        "ca": {"validityDays": 200, "renewBeforeDays": 199, "generation": 1,
               "rotation": {"step": "introduce"}},
    }
    [warning] = _warnings_a_day_later(cluster, start)
    assert warning.startswith("cluster logs: CA generation g1 expires on 2027-09-17")
    assert warning.endswith("Its rotation to g2 is under way: continue it (docs/rotation.md): "
                            "ca.rotation.step: switch, then retire")
    advised = {**cluster, "ca": {**cluster["ca"], "rotation": {"step": "switch"}}}
    assert _accepted(advised, start) == []


def test_a_generated_ca_outside_its_window_gives_no_warning() -> None:
    cluster: dict[str, Any] = {
        "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
        "ca": {"validityDays": 200, "renewBeforeDays": 100},
    }
    assert _warnings_a_day_later(cluster, datetime(2027, 3, 1, tzinfo=UTC)) == []


def test_a_provided_ca_in_its_window_points_to_replacing_it_not_to_generation_steps() -> None:
    now = datetime.now(UTC)
    ca = make_ca("logs transport CA", days=150)  # inside the default 180-day window
    cluster: dict[str, Any] = {
        "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
        "ca": {"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem},
    }
    [warning] = _warnings_a_day_later(cluster, now)
    assert warning.startswith("cluster logs: the provided CA expires on ")
    assert "docs/rotation.md 'Provided CAs'" in warning
    assert "ca.generation" not in warning and "ca.rotation.step" not in warning
    # What the generated-CA advice would have said is refused for a provided CA.
    advised = {**cluster, "ca": {**cluster["ca"], "generation": 1,
                                 "rotation": {"step": "introduce"}}}
    assert [p.split(":")[0] for p in _accepted(advised, now)] == [
        "clusters[0].ca.generation", "clusters[0].ca.rotation",
    ]


def test_a_generated_http_ca_in_its_window_is_warned_about_with_what_to_do() -> None:
    start = datetime(2027, 3, 1, tzinfo=UTC)
    cluster: dict[str, Any] = {
        "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
        "ca": {"validityDays": 200, "renewBeforeDays": 199}, "http": {"mode": "generated"},
    }
    transport, http = _warnings_a_day_later(cluster, start)
    assert transport.startswith("cluster logs: CA generation g1 expires on 2027-09-17")
    assert http.startswith("cluster logs: the generated HTTP CA expires on 2027-09-17 and is "
                           "inside its 199-day renew-before window")
    assert "http.mode: provided" in http and "docs/http.md" in http


def test_the_http_inventory_carries_the_generated_cas_facts() -> None:
    start = datetime(2027, 3, 1, tzinfo=UTC)
    cluster: dict[str, Any] = {
        "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
        "ca": {"validityDays": 200, "renewBeforeDays": 100}, "http": {"mode": "generated"},
    }
    run = run_clusters([cluster], secret=True, clock=lambda: start)
    exported = reveal(run.stack_outputs["http"])["logs"]["ca"]
    assert exported["notAfter"].startswith("2027-09-17")
    assert _warnings_a_day_later(cluster, start) == []
    # Read back for a generated CA only; an inventory exported before it carried the CA's
    # facts gives no date (and no warning).
    ca = {"notAfter": "2027-09-17T00:00:00Z"}
    for http, expected in (
        ({"mode": "generated", "ca": ca}, datetime(2027, 9, 17, tzinfo=UTC)),
        ({"mode": "generated"}, None),
        ({"mode": "provided", "ca": ca}, None),
    ):
        read = deployed_clusters({"logs": {}}, {"logs": {**http, "certificates": {}}})
        assert read["logs"].http_ca_not_after == expected


def test_a_lowered_renew_before_still_warns_from_the_deployed_cas_own_window() -> None:
    """The deployed CA keeps the early_renewal_hours it was created with (it ignores later
    config changes), so the warning keeps to that window: lowering ca.renewBeforeDays must not
    silence it."""
    start = datetime(2027, 3, 1, tzinfo=UTC)

    def cluster(renew_before: int) -> dict[str, Any]:
        return {
            "name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
            "ca": {"validityDays": 200, "renewBeforeDays": renew_before},
            "http": {"mode": "generated"},
        }

    state = EngineState()
    first = run_clusters([cluster(199)], state=state, secret=True, clock=lambda: start)
    exported = reveal(first.stack_outputs["clusters"])["logs"]["caGenerations"]["1"]
    assert exported["renewBeforeHours"] == str(199 * 24)
    assert reveal(first.stack_outputs["http"])["logs"]["ca"]["renewBeforeHours"] == str(199 * 24)
    later = run_clusters([cluster(100)], state=state, secret=True,
                         clock=lambda: start + timedelta(days=1))
    warnings = [w for w in later.warnings if "renew-before window" in w]
    assert len(warnings) == 2
    assert all("inside its 199-day renew-before window" in w for w in warnings)


def _swap_warnings(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The CA-swap warnings of an `up` with `after`'s CA, following one with `before`'s (on an
    unprotected stack: a protected one refuses to delete a generated CA)."""
    state, now, unprotected = EngineState(), datetime.now(UTC), {"protectCa": False}
    first = run_clusters([before], state=state, secret=True, clock=lambda: now,
                         settings=unprotected)
    assert not [w for w in first.warnings if "swaps the transport CA" in w]
    later = run_clusters([after], state=state, secret=True, clock=lambda: now,
                         settings=unprotected)
    return [w for w in later.warnings if "swaps the transport CA" in w]


def _provided(ca: Any) -> dict[str, Any]:
    return {"name": "logs", "delivery": "vm", "nodes": NODES, "nodeCertificates": NODE_LIFETIME,
            "ca": {"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem}}


def test_a_provided_ca_replacing_the_deployed_one_is_warned_of() -> None:
    """INV-TRUST-CONTINUITY: another provided CA in one `up` splits the cluster until every
    node has reloaded; docs/rotation.md allows it in a maintenance window only."""
    old, new = make_ca("logs CA 2026"), make_ca("logs CA 2027")
    [warning] = _swap_warnings(_provided(old), _provided(new))
    assert warning.startswith("cluster logs: ca.certPem (")
    assert "(INV-TRUST-CONTINUITY)" in warning and "'Provided CAs'" in warning


def test_a_provided_ca_replacing_a_generated_one_is_warned_of() -> None:
    generated = {**_provided(make_ca()), "ca": {}}
    assert len(_swap_warnings(generated, _provided(make_ca("logs CA")))) == 1


def test_the_deployed_provided_ca_again_is_not_warned_of() -> None:
    """The same CA, even pasted again with other text around it, swaps nothing."""
    ca = make_ca("logs CA")
    again = _provided(ca)
    again["ca"] = {**again["ca"], "certPem": "logs transport CA\n" + ca.cert_pem}
    assert _swap_warnings(_provided(ca), again) == []


def test_a_generated_ca_replacing_the_deployed_provided_one_is_warned_of() -> None:
    """The inventory records the CA's mode (`caMode`), so the next `up` knows a provided CA
    was deployed; a protected stack does not refuse this switch (a provided CA is no
    resource to protect)."""
    provided = _provided(make_ca("logs CA"))
    [warning] = _swap_warnings(provided, {**provided, "ca": {}})
    assert warning.startswith("cluster logs: a generated CA replaces the provided CA")
    assert "(INV-TRUST-CONTINUITY)" in warning


def test_the_inventory_records_the_transport_cas_mode() -> None:
    run = run_clusters([_provided(make_ca("logs CA"))], secret=True)
    clusters = deployed_clusters(reveal(run.stack_outputs["clusters"]))
    assert clusters["logs"].ca_mode == "provided"
