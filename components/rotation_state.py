"""What the last deployment left: this stack's own previous outputs, read back.

The program reads them with the engine's built-in `pulumi:pulumi:readStackOutputs` invoke (what
a `StackReference` uses under the hood) on its own stack, synchronously and before registering
any resource: a refused rotation step must change nothing. On a stack's first deployment the
stack has no outputs yet and every cluster counts as new.

`deployed_clusters` is tolerant on purpose: a cluster exported before rotation existed has no
`rotation` entry and counts as generation 1 alone; a node or HTTP certificate without a
`renewal` count as 0 (HTTP certificates exported before they were renewed have none).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import pulumi
import pulumi.runtime

from components.model import Lifetime
from components.model_http import HttpMode
from components.model_rotation import DeployedCluster, DeployedNode, TrustState
from components.rotation import LEGACY_TRUST, renewal_due

READ_STACK_OUTPUTS: Final = "pulumi:pulumi:readStackOutputs"
CLUSTERS_OUTPUT: Final = "clusters"
HTTP_OUTPUT: Final = "http"
# Inventory entry: true once the cluster's node resources are the TransportPki's children.
NODES_UNDER_PKI: Final = "nodesUnderPki"
# Inventory entry: the transport CA's `ca.mode` (absent from inventories before it was added).
CA_MODE: Final = "caMode"
# Inventory entry of each certificate the program renews (transport nodes, generated HTTP).
RENEWAL: Final = "renewal"
# Stack output `http.<cluster>` entry: the generated HTTP CA's facts (notAfter among them).
HTTP_CA: Final = "ca"
# Facts entry of a generated CA (components.cluster_ca): the renew-before window it was created
# with, in hours; its early_renewal_hours keeps it when config changes.
RENEW_BEFORE_HOURS: Final = "renewBeforeHours"
RENEWAL_DUE: Final = "renewalDue"


def own_stack_name() -> str:
    """`<organization>/<project>/<stack>`, the name `pulumi stack select` and references use."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def read_deployed() -> dict[str, DeployedCluster]:
    result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": own_stack_name()})
    value = result.value if isinstance(result.value, Mapping) else {}
    outputs = value.get("outputs")
    if not isinstance(outputs, Mapping):
        return {}
    return deployed_clusters(outputs.get(CLUSTERS_OUTPUT), outputs.get(HTTP_OUTPUT))


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def renewal_fields(facts: Mapping[str, str], renewal: int, lifetime: Lifetime) -> dict[str, object]:
    """Inventory fields of a renewed certificate: its renewal count, which the next run reads
    back (`renewal_count`), and the date the next renewal falls due, for people and
    `preflight.inventory`."""
    not_after = parse_time(facts["notAfter"])
    due = "" if not_after is None else f"{renewal_due(not_after, lifetime):%Y-%m-%dT%H:%M:%SZ}"
    return {RENEWAL: renewal, RENEWAL_DUE: due}


def deployed_clusters(raw: object, http: object = None) -> dict[str, DeployedCluster]:
    """The stack outputs `clusters` (`TransportPki.inventory`) and `http` (`HttpPki.inventory`)
    → per cluster."""
    if not isinstance(raw, Mapping):
        return {}
    http_entries = http if isinstance(http, Mapping) else {}
    return {
        str(name): _cluster(entry, http_entries.get(name))
        for name, entry in raw.items() if isinstance(entry, Mapping)
    }


def _cluster(entry: Mapping[str, Any], http: object) -> DeployedCluster:
    return DeployedCluster(
        trust=_trust(entry.get("rotation")),
        nodes=_renewed(entry.get("nodes")),
        ca_not_after=_ca_not_after(entry.get("caGenerations")),
        ca_fingerprints=_ca_fingerprints(entry.get("caGenerations")),
        ca_mode=entry.get(CA_MODE) if isinstance(entry.get(CA_MODE), str) else None,
        ca_renew_before_days=_ca_renew_before_days(entry.get("caGenerations")),
        http_certificates=_http_certificates(http),
        retiring=_retiring(entry.get("rotation")),
        ca_protected=entry.get("caProtected") is True,
        http_ca_protected=isinstance(http, Mapping) and http.get("caProtected") is True,
        http_ca_not_after=_http_ca_not_after(http),
        http_ca_renew_before_days=_renew_before_days(_http_ca_facts(http)),
        nodes_under_pki=entry.get(NODES_UNDER_PKI) is True,
    )


def _whole(value: object) -> int | None:
    """A whole number; the engine hands numbers back as doubles (protobuf Struct)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def _trust(rotation: object) -> TrustState:
    if not isinstance(rotation, Mapping):
        return LEGACY_TRUST
    raw = rotation.get("generations")
    generations = [_whole(g) for g in raw] if isinstance(raw, list) else []
    issuing = _whole(rotation.get("issuingGeneration"))
    if not generations or None in generations or issuing not in generations:
        return LEGACY_TRUST
    return TrustState(tuple(sorted(g for g in generations if g is not None)), issuing or 1)


def _retiring(rotation: object) -> tuple[int, ...]:
    raw = rotation.get("retiring") if isinstance(rotation, Mapping) else None
    generations = [_whole(g) for g in raw] if isinstance(raw, list) else []
    return tuple(sorted(g for g in generations if g is not None))


def _renewed(raw: object) -> dict[str, DeployedNode]:
    """Name → not-after and renewal count of each certificate in an inventory's entries."""
    certificates: dict[str, DeployedNode] = {}
    for name, facts in (raw.items() if isinstance(raw, Mapping) else ()):
        if not isinstance(facts, Mapping):
            continue
        not_after = parse_time(facts.get("notAfter"))
        if not_after is not None:
            certificates[str(name)] = DeployedNode(not_after, _whole(facts.get(RENEWAL)) or 0)
    return certificates


def _generated_http(http: object) -> Mapping[str, Any]:
    """A cluster's `http` entry if its certificates and CA are generated, else empty: a
    provided chain is the operator's to renew, and its not-after says nothing about the
    certificates a switch to `generated` creates."""
    if isinstance(http, Mapping) and http.get("mode") == HttpMode.GENERATED.value:
        return http
    return {}


def _http_certificates(http: object) -> dict[str, DeployedNode]:
    return _renewed(_generated_http(http).get("certificates"))


def _http_ca_facts(http: object) -> Mapping[str, Any] | None:
    facts = _generated_http(http).get(HTTP_CA)
    return facts if isinstance(facts, Mapping) else None


def _http_ca_not_after(http: object) -> datetime | None:
    facts = _http_ca_facts(http)
    return None if facts is None else parse_time(facts.get("notAfter"))


def _renew_before_days(facts: object) -> int | None:
    """A generated CA's `renewBeforeHours` fact, in whole days (config gives days)."""
    hours = facts.get(RENEW_BEFORE_HOURS) if isinstance(facts, Mapping) else None
    return int(hours) // 24 if isinstance(hours, str) and hours.isdigit() else None


def _ca_renew_before_days(raw: object) -> dict[int, int]:
    return {
        int(generation): days
        for generation, facts in (raw.items() if isinstance(raw, Mapping) else ())
        if str(generation).isdigit() and (days := _renew_before_days(facts)) is not None
    }


def _ca_fingerprints(raw: object) -> dict[int, str]:
    return {
        int(generation): facts["fingerprintSha256"]
        for generation, facts in (raw.items() if isinstance(raw, Mapping) else ())
        if str(generation).isdigit() and isinstance(facts, Mapping)
        and isinstance(facts.get("fingerprintSha256"), str)
    }


def _ca_not_after(raw: object) -> dict[int, datetime]:
    result: dict[int, datetime] = {}
    for generation, facts in (raw.items() if isinstance(raw, Mapping) else ()):
        not_after = parse_time(facts.get("notAfter")) if isinstance(facts, Mapping) else None
        if str(generation).isdigit() and not_after is not None:
            result[int(generation)] = not_after
    return result
