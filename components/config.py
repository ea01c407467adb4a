"""Stack configuration → validated, frozen `StackSpec`, reporting every problem at once.

This is the only module that reads `pulumi.Config`. `parse_stack_config` is pure (tests and
preflight call it directly); `read_stack_config` feeds it from the Pulumi runtime. Every problem
names the stack key in the `pulumi config set --path` syntax and says how to fix it.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import pulumi
from pulumi.runtime.config import CONFIG, is_config_secret

from components import ca_checks
from components.certificate_facts import sha256_fingerprint
from components.model import (
    CaMode,
    CaSpec,
    ClientAuthentication,
    ClusterSpec,
    Delivery,
    EckSpec,
    KeyAlgorithm,
    Lifetime,
    NodeSetSpec,
    NodeSpec,
    ProvidedCa,
    StackSpec,
    TransportSpec,
    VerificationMode,
    Waiver,
)

NAMESPACE = "es-transport-pki"
CLUSTERS_KEY = "clusters"
TOP_LEVEL_KEYS = frozenset({CLUSTERS_KEY})

DEFAULT_KEY_ALGORITHM = KeyAlgorithm.ECDSA_P256
DEFAULT_CA_LIFETIME = Lifetime(validity_days=1825, renew_before_days=180)
DEFAULT_NODE_LIFETIME = Lifetime(validity_days=365, renew_before_days=30)
MAX_CA_VALIDITY_DAYS = 3650
MAX_NODE_VALIDITY_DAYS = 825
MAX_NODESET_COUNT = 1000
DEFAULT_CLUSTER_DOMAIN = "cluster.local"

CLUSTER_KEYS = frozenset(
    {"name", "delivery", "keyAlgorithm", "ca", "nodeCertificates", "transport", "nodes", "eck"}
)
CA_KEYS = frozenset(
    {"mode", "certPem", "keyPem", "commonName", "organization", "validityDays", "renewBeforeDays"}
)
LIFETIME_KEYS = frozenset({"validityDays", "renewBeforeDays"})
TRANSPORT_KEYS = frozenset({"clientAuthentication", "verificationMode", "waiver"})
WAIVER_KEYS = frozenset({"name", "reason", "expires"})
NODE_KEYS = frozenset({"name", "dns", "ips"})
ECK_KEYS = frozenset({"name", "namespace", "nodeSets", "clusterDomain", "extraDns", "extraIps"})
NODESET_KEYS = frozenset({"name", "count"})

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_WEAK_ALGORITHMS = {
    "ecdsa-p224": "P-224 is pulumi-tls's ECDSA default and too weak",
    "ecdsa-p521": "P-521 is not accepted by every TLS stack Elasticsearch runs on",
    "rsa-1024": "RSA-1024 is broken",
    "ed25519": "Ed25519 certificates are not supported by Elasticsearch's PEM loader",
}

E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.key}: {self.message}"


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; `problems` lists all of them.

    A `RunError`, so `pulumi up` prints the problems without a Python traceback.
    """

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the stack configuration:\n{lines}")


class _Problems:
    """Collects problems; parsing goes on after each so that the user sees all of them."""

    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(ConfigProblem(key, message))


def _type_name(value: object) -> str:
    return {dict: "a map", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _mapping(value: object, key: str, problems: _Problems) -> Mapping[str, Any] | None:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(key, f"must be a map, got {_type_name(value)} {value!r}")
        return None
    return value


def _check_keys(
    obj: Mapping[str, Any], key: str, allowed: Collection[str], problems: _Problems
) -> None:
    for unknown in sorted(set(obj) - set(allowed)):
        hint = difflib.get_close_matches(unknown, allowed, n=1)
        fix = f"did you mean '{hint[0]}'?" if hint else f"known keys: {', '.join(sorted(allowed))}"
        problems.add(_join(key, unknown), f"unknown key; {fix}")


def _join(key: str, child: str | int) -> str:
    if isinstance(child, int):
        return f"{key}[{child}]"
    return f"{key}.{child}" if key else child


def _string(
    obj: Mapping[str, Any], name: str, key: str, problems: _Problems, *, required: bool = False
) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            problems.add(_join(key, name), "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(_join(key, name), f"must be a non-empty string, got {value!r}")
        return None
    return value


def _int(
    obj: Mapping[str, Any], name: str, key: str, problems: _Problems, *,
    default: int, low: int, high: int,
) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(_join(key, name), f"must be a whole number, got {value!r}")
        return default
    if not low <= value <= high:
        problems.add(_join(key, name), f"must be between {low} and {high}, got {value}")
        return default
    return value


def _enum(
    obj: Mapping[str, Any], name: str, key: str, problems: _Problems, *,
    enum: type[E], default: E | None,
) -> E | None:
    value = obj.get(name)
    if value is None:
        if default is None:
            problems.add(_join(key, name), f"is required; one of {_choices(enum)}")
        return default
    try:
        return enum(value)
    except ValueError:
        problems.add(_join(key, name), f"must be one of {_choices(enum)}, got {value!r}")
        return default


def _choices(enum: type[Enum]) -> str:
    return ", ".join(repr(member.value) for member in enum)


def _list(obj: Mapping[str, Any], name: str, key: str, problems: _Problems) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list):
        problems.add(_join(key, name), f"must be a list, got {_type_name(value)} {value!r}")
        return []
    return value


def _dns_label(value: str, key: str, problems: _Problems, what: str) -> bool:
    if _DNS_LABEL.match(value):
        return True
    problems.add(
        key,
        f"{value!r} is not a valid {what}: use 1-63 lower-case letters, digits and '-', "
        "starting and ending with a letter or digit",
    )
    return False


def _dns_name(value: object, key: str, problems: _Problems) -> str | None:
    if not isinstance(value, str):
        problems.add(key, f"must be a DNS name string, got {value!r}")
        return None
    name = value.lower()
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        hint = " (no wildcards: each node certificate names its own node)" if "*" in name else ""
        problems.add(
            key,
            f"{value!r} is not a valid DNS name{hint}; use dot-separated labels of letters, "
            "digits and '-' without a trailing dot",
        )
        return None
    return name


def _ip(value: object, key: str, problems: _Problems) -> str | None:
    try:
        return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
    except ValueError:
        problems.add(key, f"{value!r} is not an IPv4 or IPv6 address")
        return None


def _names(
    obj: Mapping[str, Any], name: str, key: str, problems: _Problems,
    parse: Callable[[object, str, _Problems], str | None],
) -> tuple[str, ...]:
    parsed: list[str] = []
    for index, item in enumerate(_list(obj, name, key, problems)):
        value = parse(item, _join(_join(key, name), index), problems)
        if value is None:
            continue
        if value in parsed:
            problems.add(_join(_join(key, name), index), f"{value!r} is listed twice; remove one")
            continue
        parsed.append(value)
    return tuple(parsed)


def _lifetime(
    raw: object, key: str, problems: _Problems, default: Lifetime, max_days: int
) -> Lifetime:
    obj = _mapping(raw, key, problems)
    if obj is None:
        return default
    validity = _int(
        obj, "validityDays", key, problems, default=default.validity_days, low=1, high=max_days
    )
    renew = _int(
        obj, "renewBeforeDays", key, problems, default=default.renew_before_days, low=1,
        high=max_days,
    )
    if renew >= validity:
        problems.add(
            _join(key, "renewBeforeDays"),
            f"{renew} days must be shorter than validityDays ({validity}): otherwise every "
            "certificate is due for renewal as soon as it is issued",
        )
    return Lifetime(validity, renew)


def _key_algorithm(obj: Mapping[str, Any], key: str, problems: _Problems) -> KeyAlgorithm:
    value = obj.get("keyAlgorithm")
    if isinstance(value, str) and value.lower() in _WEAK_ALGORITHMS:
        problems.add(
            _join(key, "keyAlgorithm"),
            f"{value!r} is refused: {_WEAK_ALGORITHMS[value.lower()]} (INV-STRENGTH); "
            f"use one of {_choices(KeyAlgorithm)}",
        )
        return DEFAULT_KEY_ALGORITHM
    algorithm = _enum(
        obj, "keyAlgorithm", key, problems, enum=KeyAlgorithm, default=DEFAULT_KEY_ALGORITHM
    )
    return algorithm or DEFAULT_KEY_ALGORITHM


@dataclass(frozen=True)
class _Context:
    stack: str
    now: datetime
    clusters_secret: bool


def _ca(
    raw: object, key: str, problems: _Problems, *, cluster: str, node_lifetime: Lifetime,
    ctx: _Context,
) -> CaSpec:
    obj = _mapping(raw, key, problems) or {}
    _check_keys(obj, key, CA_KEYS, problems)
    mode = _enum(obj, "mode", key, problems, enum=CaMode, default=CaMode.GENERATED)
    lifetime = _lifetime(
        {k: v for k, v in obj.items() if k in LIFETIME_KEYS}, key, problems,
        DEFAULT_CA_LIFETIME, MAX_CA_VALIDITY_DAYS,
    )
    common_name = _string(obj, "commonName", key, problems) or (
        f"{cluster} transport CA ({ctx.stack})"
    )
    organization = _string(obj, "organization", key, problems)
    provided = None
    if mode is CaMode.PROVIDED:
        provided = _provided_ca(obj, key, node_lifetime, ctx, problems)
    else:
        for name in ("certPem", "keyPem"):
            if name in obj:
                problems.add(_join(key, name), "is only used with ca.mode: provided; remove it")
        if node_lifetime.validity_days >= lifetime.validity_days:
            problems.add(
                _join(key, "validityDays"),
                f"{lifetime.validity_days} days must exceed nodeCertificates.validityDays "
                f"({node_lifetime.validity_days}): a node certificate must not outlive its CA",
            )
    return CaSpec(mode or CaMode.GENERATED, common_name, organization, lifetime, provided)


def _provided_ca(
    obj: Mapping[str, Any], key: str, node_lifetime: Lifetime, ctx: _Context, problems: _Problems
) -> ProvidedCa | None:
    cert_pem = _string(obj, "certPem", key, problems, required=True)
    key_pem = _string(obj, "keyPem", key, problems, required=True)
    if key_pem is not None and not ctx.clusters_secret:
        problems.add(
            _join(key, "keyPem"),
            "is plain text in the stack file; store the CA key encrypted with "
            f"`pulumi config set --secret --path '{_join(key, 'keyPem')}' < ca.key` (INV-CUSTODY)",
        )
    if cert_pem is None:
        return None
    cert, problem = ca_checks.load_single_certificate(cert_pem)
    if cert is None:
        problems.add(_join(key, "certPem"), problem or "is not a certificate")
        return None
    before = len(problems.items)
    for message in ca_checks.check_ca_certificate(cert, ctx.now):
        problems.add(_join(key, "certPem"), message)
    if ca_checks.expires_before(cert, ctx.now, node_lifetime.validity_days):
        problems.add(
            _join(key, "certPem"),
            f"expires on {cert.not_valid_after_utc:%Y-%m-%d}, before a node certificate issued "
            f"today ({node_lifetime.validity_days} days) would; rotate the CA or lower "
            "nodeCertificates.validityDays",
        )
    if key_pem is not None:
        for message in ca_checks.check_key_matches(cert, key_pem):
            problems.add(_join(key, "keyPem"), message)
    if len(problems.items) != before or key_pem is None:
        return None
    return ProvidedCa(cert_pem.strip() + "\n", key_pem, sha256_fingerprint(cert))


def _transport(
    raw: object, key: str, delivery: Delivery, ctx: _Context, problems: _Problems
) -> TransportSpec:
    obj = _mapping(raw, key, problems) or {}
    _check_keys(obj, key, TRANSPORT_KEYS, problems)
    client_auth = _enum(
        obj, "clientAuthentication", key, problems,
        enum=ClientAuthentication, default=ClientAuthentication.REQUIRED,
    ) or ClientAuthentication.REQUIRED
    if delivery is Delivery.ECK and "verificationMode" in obj:
        problems.add(
            _join(key, "verificationMode"),
            "cannot be set for delivery: eck: ECK owns xpack.security.transport.ssl."
            "verification_mode (it sets 'certificate'); remove the key",
        )
    default_mode = (
        VerificationMode.CERTIFICATE if delivery is Delivery.ECK else VerificationMode.FULL
    )
    mode: VerificationMode | None = default_mode
    if obj.get("verificationMode") == "none":
        problems.add(
            _join(key, "verificationMode"),
            "'none' turns off certificate verification, so any peer is trusted (INV-VERIFY); "
            "use 'full' (default) or 'certificate'",
        )
    else:
        mode = _enum(
            obj, "verificationMode", key, problems, enum=VerificationMode, default=default_mode
        )
    waiver = _waiver(obj.get("waiver"), _join(key, "waiver"), ctx, problems)
    if client_auth is not ClientAuthentication.REQUIRED and waiver is None:
        problems.add(
            _join(key, "clientAuthentication"),
            f"'{client_auth.value}' lets anyone with network access open transport connections "
            "(INV-MTLS); use 'required', or add transport.waiver {name, reason, expires} to "
            "accept the risk explicitly",
        )
    if client_auth is ClientAuthentication.REQUIRED and waiver is not None:
        problems.add(
            _join(key, "waiver"),
            "waives nothing: clientAuthentication is 'required'; remove the stale waiver",
        )
    return TransportSpec(client_auth, mode or default_mode, waiver)


def _waiver(raw: object, key: str, ctx: _Context, problems: _Problems) -> Waiver | None:
    if raw is None:
        return None
    obj = _mapping(raw, key, problems)
    if obj is None:
        return None
    _check_keys(obj, key, WAIVER_KEYS, problems)
    name = _string(obj, "name", key, problems, required=True)
    reason = _string(obj, "reason", key, problems, required=True)
    expires = obj.get("expires")
    if expires is not None:
        try:
            expiry = date.fromisoformat(str(expires))
        except ValueError:
            problems.add(_join(key, "expires"), f"{expires!r} is not a date like 2027-01-31")
            return None
        if expiry < ctx.now.date():
            problems.add(
                _join(key, "expires"),
                f"the waiver expired on {expiry}; restore clientAuthentication: required "
                "or renew the waiver",
            )
            return None
    if name is None or reason is None:
        return None
    return Waiver(name, reason, None if expires is None else str(expires))


def _vm_nodes(obj: Mapping[str, Any], key: str, problems: _Problems) -> tuple[NodeSpec, ...]:
    nodes_key = _join(key, "nodes")
    raw_nodes = _list(obj, "nodes", key, problems)
    if not raw_nodes:
        problems.add(nodes_key, "delivery: vm needs at least one node {name, dns, ips}")
    nodes: list[NodeSpec] = []
    for index, raw in enumerate(raw_nodes):
        node_key = _join(nodes_key, index)
        node = _mapping(raw, node_key, problems)
        if node is None:
            continue
        _check_keys(node, node_key, NODE_KEYS, problems)
        name = _string(node, "name", node_key, problems, required=True)
        if name and not _dns_label(name, _join(node_key, "name"), problems, "node name"):
            name = None
        dns = _names(node, "dns", node_key, problems, _dns_name)
        ips = _names(node, "ips", node_key, problems, _ip)
        if not node.get("dns") and not node.get("ips"):
            problems.add(
                node_key,
                "has neither dns nor ips: list every name and address peers reach the node by "
                "(verification_mode full checks them)",
            )
        if name is not None:
            nodes.append(NodeSpec(name, dns, ips))
    _report_duplicates([n.name for n in nodes], nodes_key, "node name", problems)
    _report_shared_names(nodes, nodes_key, problems)
    return tuple(nodes)


def _report_duplicates(values: Sequence[str], key: str, what: str, problems: _Problems) -> None:
    for value, count in sorted(Counter(values).items()):
        if count > 1:
            problems.add(key, f"{what} {value!r} is used {count} times; names must be unique")


def _report_shared_names(nodes: Sequence[NodeSpec], key: str, problems: _Problems) -> None:
    owners: dict[str, list[str]] = {}
    for node in nodes:
        for name in (*node.dns_names, *node.ip_addresses):
            owners.setdefault(name, []).append(node.name)
    for name, names in sorted(owners.items()):
        if len(names) > 1:
            problems.add(
                key,
                f"{name!r} is claimed by nodes {', '.join(names)}; a name or address must "
                "identify one node (verification_mode full would accept either)",
            )


def _eck(raw: object, key: str, problems: _Problems) -> EckSpec | None:
    obj = _mapping(raw, key, problems)
    if obj is None:
        return None
    if not obj:
        problems.add(key, "delivery: eck needs eck {name, namespace, nodeSets}")
        return None
    _check_keys(obj, key, ECK_KEYS, problems)
    name = _string(obj, "name", key, problems, required=True)
    namespace = _string(obj, "namespace", key, problems, required=True)
    valid_name = name is not None and _dns_label(
        name, _join(key, "name"), problems, "Elasticsearch name"
    )
    valid_namespace = namespace is not None and _dns_label(
        namespace, _join(key, "namespace"), problems, "namespace"
    )
    domain = _dns_name(
        obj.get("clusterDomain", DEFAULT_CLUSTER_DOMAIN), _join(key, "clusterDomain"), problems
    )
    node_sets = _node_sets(obj, key, problems)
    extra_dns = _names(obj, "extraDns", key, problems, _dns_name)
    extra_ips = _names(obj, "extraIps", key, problems, _ip)
    if not (valid_name and valid_namespace) or name is None or namespace is None or not domain:
        return None
    return EckSpec(name, namespace, node_sets, domain, extra_dns, extra_ips)


def _node_sets(obj: Mapping[str, Any], key: str, problems: _Problems) -> tuple[NodeSetSpec, ...]:
    sets_key = _join(key, "nodeSets")
    raw_sets = _list(obj, "nodeSets", key, problems)
    if not raw_sets:
        problems.add(sets_key, "needs at least one nodeSet {name, count}")
    node_sets: list[NodeSetSpec] = []
    for index, raw in enumerate(raw_sets):
        set_key = _join(sets_key, index)
        node_set = _mapping(raw, set_key, problems)
        if node_set is None:
            continue
        _check_keys(node_set, set_key, NODESET_KEYS, problems)
        name = _string(node_set, "name", set_key, problems, required=True)
        count = _int(
            node_set, "count", set_key, problems, default=0, low=0, high=MAX_NODESET_COUNT
        )
        if "count" not in node_set:
            problems.add(_join(set_key, "count"), "is required: how many pods the nodeSet runs")
        if name is not None and _dns_label(name, _join(set_key, "name"), problems, "nodeSet name"):
            node_sets.append(NodeSetSpec(name, count))
    _report_duplicates([s.name for s in node_sets], sets_key, "nodeSet name", problems)
    return tuple(node_sets)


def eck_pod_nodes(eck: EckSpec) -> tuple[NodeSpec, ...]:
    """One node per pod, with the DNS names a pod has under ECK's per-nodeSet headless service."""
    nodes: list[NodeSpec] = []
    transport_service = f"{eck.name}-es-transport.{eck.namespace}.svc"
    for node_set in eck.node_sets:
        service = f"{eck.statefulset(node_set)}.{eck.namespace}.svc"
        for pod in eck.pod_names(node_set):
            dns = (
                f"{pod}.{service}",
                f"{pod}.{service}.{eck.cluster_domain}",
                transport_service,
                f"{transport_service}.{eck.cluster_domain}",
                *eck.extra_dns_names,
            )
            nodes.append(NodeSpec(pod, dns, eck.extra_ip_addresses))
    return tuple(nodes)


def _cluster(raw: object, key: str, ctx: _Context, problems: _Problems) -> ClusterSpec | None:
    obj = _mapping(raw, key, problems)
    if obj is None:
        return None
    _check_keys(obj, key, CLUSTER_KEYS, problems)
    name = _string(obj, "name", key, problems, required=True)
    if name is not None and not _dns_label(name, _join(key, "name"), problems, "cluster name"):
        name = None
    delivery = _enum(obj, "delivery", key, problems, enum=Delivery, default=None)
    key_algorithm = _key_algorithm(obj, key, problems)
    node_lifetime = _lifetime(
        obj.get("nodeCertificates"), _join(key, "nodeCertificates"), problems,
        DEFAULT_NODE_LIFETIME, MAX_NODE_VALIDITY_DAYS,
    )
    if isinstance(obj.get("nodeCertificates"), Mapping):
        _check_keys(
            obj["nodeCertificates"], _join(key, "nodeCertificates"), LIFETIME_KEYS, problems
        )
    ca = _ca(
        obj.get("ca"), _join(key, "ca"), problems,
        cluster=name or "cluster", node_lifetime=node_lifetime, ctx=ctx,
    )
    transport = _transport(
        obj.get("transport"), _join(key, "transport"), delivery or Delivery.VM, ctx, problems
    )
    nodes, eck = _delivery_targets(obj, key, delivery, problems)
    if name is None or delivery is None:
        return None
    return ClusterSpec(name, delivery, key_algorithm, ca, node_lifetime, transport, nodes, eck)


def _delivery_targets(
    obj: Mapping[str, Any], key: str, delivery: Delivery | None, problems: _Problems
) -> tuple[tuple[NodeSpec, ...], EckSpec | None]:
    if delivery is Delivery.VM:
        if "eck" in obj:
            problems.add(_join(key, "eck"), "is only used with delivery: eck; remove it or switch")
        return _vm_nodes(obj, key, problems), None
    if delivery is Delivery.ECK:
        if "nodes" in obj:
            problems.add(
                _join(key, "nodes"),
                "is only used with delivery: vm; under ECK pods come from eck.nodeSets",
            )
        eck = _eck(obj.get("eck"), _join(key, "eck"), problems)
        return (eck_pod_nodes(eck) if eck else ()), eck
    return (), None


def _cross_cluster(clusters: Sequence[ClusterSpec], problems: _Problems) -> None:
    _report_duplicates([c.name for c in clusters], CLUSTERS_KEY, "cluster name", problems)
    _report_duplicates(
        [f"{c.eck.namespace}/{c.eck.name}" for c in clusters if c.eck],
        CLUSTERS_KEY, "ECK Elasticsearch", problems,
    )
    users: dict[str, list[str]] = {}
    for cluster in clusters:
        if cluster.ca.provided:
            users.setdefault(cluster.ca.provided.fingerprint_sha256, []).append(cluster.name)
    for names in users.values():
        if len(names) > 1:
            problems.add(
                CLUSTERS_KEY,
                f"clusters {', '.join(names)} share one provided CA; each cluster needs a CA of "
                "its own, or a node of one can join the other (INV-CA-DEDICATED)",
            )
    resource_names = [f"{c.name}-{n.name}" for c in clusters for n in c.nodes]
    _report_duplicates(resource_names, CLUSTERS_KEY, "cluster-node resource name", problems)


def parse_stack_config(
    raw: Mapping[str, Any], *, stack: str, now: datetime, secret_keys: Collection[str] = ()
) -> StackSpec:
    """Validate the namespace's config (keys without the `es-transport-pki:` prefix).

    `secret_keys` are the top-level keys Pulumi holds encrypted; `now` is when certificates
    would be issued (expiry checks). Raises `ConfigError` with every problem found.
    """
    problems = _Problems()
    _check_keys(raw, "", TOP_LEVEL_KEYS, problems)
    ctx = _Context(stack, now, CLUSTERS_KEY in secret_keys)
    raw_clusters = raw.get(CLUSTERS_KEY)
    clusters: list[ClusterSpec] = []
    if raw_clusters is None:
        problems.add(CLUSTERS_KEY, "is required: a list of clusters (see README, Configuration)")
    elif not isinstance(raw_clusters, list) or not raw_clusters:
        problems.add(CLUSTERS_KEY, f"must be a non-empty list of clusters, got {raw_clusters!r}")
    else:
        for index, item in enumerate(raw_clusters):
            cluster = _cluster(item, _join(CLUSTERS_KEY, index), ctx, problems)
            if cluster is not None:
                clusters.append(cluster)
        _cross_cluster(clusters, problems)
    if problems.items:
        raise ConfigError(problems.items)
    return StackSpec(tuple(clusters))


def read_stack_config(now: datetime) -> StackSpec:
    """Read this namespace's keys from the Pulumi runtime and validate them."""
    prefix = f"{NAMESPACE}:"
    config = pulumi.Config(NAMESPACE)
    names = {full[len(prefix):] for full in CONFIG.get() if full.startswith(prefix)}
    raw = {name: config.get_object(name) for name in sorted(names | TOP_LEVEL_KEYS)}
    raw = {name: value for name, value in raw.items() if value is not None}
    secret = [name for name in raw if is_config_secret(prefix + name)]
    return parse_stack_config(raw, stack=pulumi.get_stack(), now=now, secret_keys=secret)
