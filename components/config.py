"""Stack configuration → validated, frozen `StackSpec`, reporting every problem at once.

This is the only module that reads `pulumi.Config`. `parse_stack_config` is pure (tests and
preflight call it directly); `read_stack_config` feeds it from the Pulumi runtime. Every problem
names the stack key in the `pulumi config set --path` syntax and says how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, is_config_secret

from components import ca_checks
from components.config_eck import (
    check_node_certs_secret_size,
    eck_pod_nodes,
    eck_spec,
    kubernetes_spec,
)
from components.config_http import HttpContext, check_http_across_clusters, http_spec
from components.config_posture import POSTURE_KEYS, posture
from components.config_reader import (
    NAMESPACE,
    TOO_DEEP,
    ConfigError,
    ConfigProblem,
    Problems,
    Secrecy,
    check_keys,
    choice,
    choices,
    dns_label,
    integer,
    is_within,
    join,
    join_name,
    mapping,
    redacted,
    report_duplicates,
    string,
    too_deep,
)
from components.config_rotation import CA_ROTATION_KEYS, CLUSTER_ROTATION_KEYS, ca_rotation, epochs
from components.config_vm import (
    check_bundle_directories,
    check_render_directory,
    vm_nodes,
    vm_spec,
)
from components.model import (
    CaMode,
    CaSpec,
    ClientAuthentication,
    ClusterSpec,
    Delivery,
    JudgedClusters,
    KeyAlgorithm,
    Lifetime,
    NodeSpec,
    ProvidedCa,
    StackSpec,
    TransportSpec,
    VerificationMode,
    VmSpec,
    Waiver,
)
from components.model_eck import EckCertificates, EckSpec
from components.model_http import HttpMode
from components.model_posture import SecretsProvider
from components.quoting import quoted
from components.stack_settings import read_stack_file

__all__ = ["ConfigError", "InvalidConfigError", "parse_stack_config", "read_stack_config"]

CLUSTERS_KEY = "clusters"
KUBERNETES_KEY = "kubernetes"
TOP_LEVEL_KEYS = frozenset({CLUSTERS_KEY, KUBERNETES_KEY}) | POSTURE_KEYS

DEFAULT_KEY_ALGORITHM = KeyAlgorithm.ECDSA_P256
DEFAULT_CA_LIFETIME = Lifetime(validity_days=1825, renew_before_days=180)
DEFAULT_NODE_LIFETIME = Lifetime(validity_days=365, renew_before_days=30)
MAX_CA_VALIDITY_DAYS = 3650
MAX_NODE_VALIDITY_DAYS = 825
MAX_COMMON_NAME = 64  # RFC 5280 ub-common-name

CLUSTER_KEYS = frozenset(
    {"name", "delivery", "keyAlgorithm", "ca", "nodeCertificates", "transport", "nodes", "eck",
     "vm", "http"}
) | CLUSTER_ROTATION_KEYS
CA_KEYS = frozenset(
    {"mode", "certPem", "keyPem", "commonName", "organization", "validityDays", "renewBeforeDays"}
) | CA_ROTATION_KEYS
LIFETIME_KEYS = frozenset({"validityDays", "renewBeforeDays"})
TRANSPORT_KEYS = frozenset({"clientAuthentication", "verificationMode", "waiver"})
WAIVER_KEYS = frozenset({"name", "reason", "expires"})

_WEAK_ALGORITHMS = {
    "ecdsa-p224": "P-224 is pulumi-tls's ECDSA default and too weak",
    "ecdsa-p521": "P-521 is not accepted by every TLS stack Elasticsearch runs on",
    "rsa-1024": "RSA-1024 is broken",
    "ed25519": "Ed25519 certificates are not supported by Elasticsearch's PEM loader",
}

def _lifetime(
    raw: object, key: str, problems: Problems, default: Lifetime, max_days: int
) -> Lifetime:
    obj = mapping(raw, key, problems)
    if obj is None:
        return default
    validity = integer(
        obj, "validityDays", key, problems, default=default.validity_days, low=1, high=max_days
    )
    renew = integer(
        obj, "renewBeforeDays", key, problems, default=default.renew_before_days, low=1,
        high=max_days,
    )
    if renew >= validity:
        problems.add(
            join(key, "renewBeforeDays"),
            f"{renew} days must be shorter than validityDays ({validity}): otherwise every "
            "certificate is due for renewal as soon as it is issued",
        )
    return Lifetime(validity, renew)


def _key_algorithm(obj: Mapping[str, Any], key: str, problems: Problems) -> KeyAlgorithm:
    value = obj.get("keyAlgorithm")
    if isinstance(value, str) and value.lower() in _WEAK_ALGORITHMS:
        problems.add(
            join(key, "keyAlgorithm"),
            f"{quoted(value)} is refused: {_WEAK_ALGORITHMS[value.lower()]} (INV-STRENGTH); "
            f"use one of {choices(KeyAlgorithm)}",
        )
        return DEFAULT_KEY_ALGORITHM
    algorithm = choice(
        obj, "keyAlgorithm", key, problems, enum=KeyAlgorithm, default=DEFAULT_KEY_ALGORITHM
    )
    return algorithm or DEFAULT_KEY_ALGORITHM


@dataclass(frozen=True)
class _Context:
    stack: str
    now: datetime
    secrecy: Secrecy
    default_namespace: str | None  # stack key kubernetes.namespace


def _ca(
    raw: object, key: str, problems: Problems, *, cluster: str, node_lifetime: Lifetime,
    ctx: _Context,
) -> CaSpec:
    obj = mapping(raw, key, problems) or {}
    check_keys(obj, key, CA_KEYS, problems)
    mode = choice(obj, "mode", key, problems, enum=CaMode, default=CaMode.GENERATED)
    lifetime = _lifetime(
        {k: v for k, v in obj.items() if k in LIFETIME_KEYS}, key, problems,
        DEFAULT_CA_LIFETIME, MAX_CA_VALIDITY_DAYS,
    )
    common_name = string(obj, "commonName", key, problems) or (
        f"{cluster} transport CA ({ctx.stack})"
    )
    if len(common_name) > MAX_COMMON_NAME:
        problems.add(
            join(key, "commonName"),
            f"{quoted(common_name)} is {len(common_name)} characters; X.509 allows "
            f"{MAX_COMMON_NAME}: set a shorter ca.commonName",
        )
    organization = string(obj, "organization", key, problems)
    provided = None
    if mode is CaMode.PROVIDED:
        provided = _provided_ca(obj, key, node_lifetime, ctx, problems)
    else:
        for name in ("certPem", "keyPem"):
            if name in obj:
                problems.add(join(key, name), "is only used with ca.mode: provided; remove it")
        if node_lifetime.validity_days >= lifetime.validity_days:
            problems.add(
                join(key, "validityDays"),
                f"{lifetime.validity_days} days must exceed nodeCertificates.validityDays "
                f"({node_lifetime.validity_days}): a node certificate must not outlive its CA",
            )
    return CaSpec(
        mode or CaMode.GENERATED, common_name, organization, lifetime, provided,
        rotation=ca_rotation(obj, key, mode, problems),
    )


def _provided_ca(
    obj: Mapping[str, Any], key: str, node_lifetime: Lifetime, ctx: _Context, problems: Problems
) -> ProvidedCa | None:
    cert_pem = string(obj, "certPem", key, problems, required=True)
    key_pem = string(obj, "keyPem", key, problems, required=True)
    if key_pem is not None and not ctx.secrecy.encrypted(join(key, "keyPem")):
        problems.add(
            join(key, "keyPem"),
            "is plain text in the stack file; store the CA key encrypted with "
            f"`pulumi config set --secret --path '{join(key, 'keyPem')}' < ca.key` (INV-CUSTODY)",
        )
    if cert_pem is None:
        return None
    cert, problem = ca_checks.load_single_certificate(cert_pem)
    if cert is None:
        problems.add(join(key, "certPem"), problem or "is not a certificate")
        return None
    before = len(problems.items)
    for message in ca_checks.check_ca_certificate(cert, ctx.now):
        problems.add(join(key, "certPem"), message)
    if ca_checks.expires_before(cert, ctx.now, node_lifetime.validity_days):
        problems.add(
            join(key, "certPem"),
            f"expires on {cert.not_valid_after_utc:%Y-%m-%d}, before a node certificate issued "
            f"today ({node_lifetime.validity_days} days) would; rotate the CA or lower "
            "nodeCertificates.validityDays",
        )
    if key_pem is not None:
        for message in ca_checks.check_key_matches(cert, key_pem):
            problems.add(join(key, "keyPem"), message)
    if len(problems.items) != before or key_pem is None:
        return None
    return ProvidedCa(cert_pem.strip() + "\n", key_pem, ca_checks.spki(cert))


def _transport(
    raw: object, key: str, delivery: Delivery, ctx: _Context, problems: Problems
) -> TransportSpec:
    obj = mapping(raw, key, problems) or {}
    check_keys(obj, key, TRANSPORT_KEYS, problems)
    client_auth = choice(
        obj, "clientAuthentication", key, problems,
        enum=ClientAuthentication, default=ClientAuthentication.REQUIRED,
    ) or ClientAuthentication.REQUIRED
    if delivery is Delivery.ECK and "verificationMode" in obj:
        problems.add(
            join(key, "verificationMode"),
            "cannot be set for delivery: eck: ECK owns xpack.security.transport.ssl."
            "verification_mode (it sets 'certificate'); remove the key",
        )
    default_mode = (
        VerificationMode.CERTIFICATE if delivery is Delivery.ECK else VerificationMode.FULL
    )
    mode: VerificationMode | None = default_mode
    if obj.get("verificationMode") == "none":
        problems.add(
            join(key, "verificationMode"),
            "'none' turns off certificate verification, so any peer is trusted (INV-VERIFY); "
            "use 'full' (default) or 'certificate'",
        )
    else:
        mode = choice(
            obj, "verificationMode", key, problems, enum=VerificationMode, default=default_mode
        )
    waiver = _waiver(obj.get("waiver"), join(key, "waiver"), ctx, problems)
    if client_auth is not ClientAuthentication.REQUIRED and waiver is None:
        problems.add(
            join(key, "clientAuthentication"),
            f"'{client_auth.value}' lets anyone with network access open transport connections "
            "(INV-MTLS); use 'required', or add transport.waiver {name, reason, expires} to "
            "accept the risk explicitly",
        )
    if client_auth is ClientAuthentication.REQUIRED and waiver is not None:
        problems.add(
            join(key, "waiver"),
            "waives nothing: clientAuthentication is 'required'; remove the stale waiver",
        )
    return TransportSpec(client_auth, mode or default_mode, waiver)


def _waiver(raw: object, key: str, ctx: _Context, problems: Problems) -> Waiver | None:
    if raw is None:
        return None
    obj = mapping(raw, key, problems)
    if obj is None:
        return None
    check_keys(obj, key, WAIVER_KEYS, problems)
    name = string(obj, "name", key, problems, required=True)
    reason = string(obj, "reason", key, problems, required=True)
    expires = obj.get("expires")
    if expires is not None:
        try:
            expiry = date.fromisoformat(str(expires))
        except ValueError:
            problems.add(join(key, "expires"), f"{quoted(expires)} is not a date like 2027-01-31")
            return None
        if expiry < ctx.now.date():
            problems.add(
                join(key, "expires"),
                f"the waiver expired on {expiry}; restore clientAuthentication: required "
                "or renew the waiver",
            )
            return None
    if name is None or reason is None:
        return None
    return Waiver(name, reason, None if expires is None else str(expires))


def _cluster(raw: object, key: str, ctx: _Context, problems: Problems) -> ClusterSpec | None:
    obj = mapping(raw, key, problems)
    if obj is None:
        return None
    check_keys(obj, key, CLUSTER_KEYS, problems)
    name = string(obj, "name", key, problems, required=True)
    if name is not None and not dns_label(name, join(key, "name"), problems, "cluster name"):
        name = None
    delivery = choice(obj, "delivery", key, problems, enum=Delivery, default=None)
    key_algorithm = _key_algorithm(obj, key, problems)
    node_lifetime = _lifetime(
        obj.get("nodeCertificates"), join(key, "nodeCertificates"), problems,
        DEFAULT_NODE_LIFETIME, MAX_NODE_VALIDITY_DAYS,
    )
    if isinstance(obj.get("nodeCertificates"), Mapping):
        check_keys(
            obj["nodeCertificates"], join(key, "nodeCertificates"), LIFETIME_KEYS, problems
        )
    ca = _ca(
        obj.get("ca"), join(key, "ca"), problems,
        cluster=name or "cluster", node_lifetime=node_lifetime, ctx=ctx,
    )
    transport = _transport(
        obj.get("transport"), join(key, "transport"), delivery or Delivery.VM, ctx, problems
    )
    nodes, eck, vm = _delivery_targets(obj, key, delivery, ctx, problems)
    http = http_spec(
        obj.get("http"), join(key, "http"), problems,
        HttpContext(name or "cluster", key, ctx.stack, delivery, ca, eck, ctx.now,
                    ctx.secrecy),
    )
    node_epochs = epochs(
        obj, key, [node.name for node in nodes], problems,
        pods_keyed_by_eck=eck is not None and eck.certificates is EckCertificates.CA_TO_ECK,
        http_generated=http is not None and http.mode is HttpMode.GENERATED,
    )
    if eck is not None:
        check_node_certs_secret_size(eck, key_algorithm, join(key, "eck"), problems)
    if ca.provided is not None:
        _check_name_constraints(ca.provided, nodes, join(key, "ca.certPem"), problems)
    if name is None or delivery is None:
        return None
    return ClusterSpec(
        name, delivery, key_algorithm, ca, node_lifetime, transport, nodes, eck, vm,
        http=http, epochs=node_epochs,
    )


def _check_name_constraints(
    provided: ProvidedCa, nodes: Sequence[NodeSpec], key: str, problems: Problems
) -> None:
    """A provided CA's nameConstraints must permit every name its node certificates carry."""
    constraints = ca_checks.name_constraints(provided.cert_pem)
    if constraints is None:
        return
    for node in nodes:
        outside = ca_checks.names_outside_constraints(
            constraints, node.dns_names, node.ip_addresses)
        if outside:
            problems.add(
                key,
                f"has nameConstraints that do not permit {', '.join(map(quoted, outside))} of "
                f"node {node.name}: OpenSSL and Go refuse a certificate with a name outside "
                "its CA's constraints (JSSE ignores a trust anchor's), so those peers and tools "
                "fail the handshake; use a CA whose nameConstraints permit every node's DNS "
                "names and IPs, or none",
            )


def _delivery_targets(
    obj: Mapping[str, Any], key: str, delivery: Delivery | None, ctx: _Context,
    problems: Problems,
) -> tuple[tuple[NodeSpec, ...], EckSpec | None, VmSpec | None]:
    if delivery is Delivery.VM:
        if "eck" in obj:
            problems.add(join(key, "eck"), "is only used with delivery: eck; remove it or switch")
        vm = vm_spec(obj.get("vm"), join(key, "vm"), ctx.stack, problems)
        return vm_nodes(obj, key, problems), None, vm
    if delivery is Delivery.ECK:
        if "nodes" in obj:
            problems.add(
                join(key, "nodes"),
                "is only used with delivery: vm; under ECK pods come from eck.nodeSets",
            )
        if "vm" in obj:
            problems.add(join(key, "vm"), "is only used with delivery: vm; remove it or switch")
        eck = eck_spec(
            obj.get("eck"), join(key, "eck"), problems, default_namespace=ctx.default_namespace
        )
        return (eck_pod_nodes(eck) if eck else ()), eck, None
    return (), None, None


def _cross_cluster(clusters: Sequence[ClusterSpec], problems: Problems) -> None:
    report_duplicates([c.name for c in clusters], CLUSTERS_KEY, "cluster name", problems)
    report_duplicates(
        [f"{c.eck.namespace}/{c.eck.name}" for c in clusters if c.eck],
        CLUSTERS_KEY, "ECK Elasticsearch", problems,
    )
    # Keyed by the CA's public key, not its fingerprint: a CA certificate re-issued with the
    # same key (new serial or validity) verifies the same node certificates.
    users: dict[bytes, list[str]] = {}
    for cluster in clusters:
        if cluster.ca.provided:
            users.setdefault(cluster.ca.provided.public_key_der, []).append(cluster.name)
    for names in users.values():
        if len(names) > 1:
            problems.add(
                CLUSTERS_KEY,
                f"clusters {', '.join(names)} share one CA key (their ca.certPem hold the same "
                "public key, even if the certificates differ); each cluster needs a CA with a "
                "key of its own, or a node of one can join the other (INV-CA-DEDICATED)",
            )
    check_http_across_clusters(clusters, problems)
    resource_names = [f"{c.name}-{n.name}" for c in clusters for n in c.nodes]
    report_duplicates(resource_names, CLUSTERS_KEY, "cluster-node resource name", problems)


def parse_stack_config(
    raw: Mapping[str, Any], *, stack: str, now: datetime, secret_keys: Collection[str] = (),
    secrets_provider: SecretsProvider | None = None,
    secure_values: Mapping[str, frozenset[str]] | None = None,
) -> StackSpec:
    """Validate the namespace's config (keys without the `es-transport-pki:` prefix).

    `secret_keys` are the top-level keys Pulumi holds encrypted; `now` is when certificates
    would be issued (expiry checks); `secrets_provider` what the stack file names (None: no
    stack file); `secure_values` the stack keys of the stack file's `secure:` values under each
    top-level key it holds (None: no stack file; then a value counts as encrypted when its
    top-level key is secret). Raises `ConfigError` with every problem found.
    """
    deep = [key for name, value in raw.items() if (key := too_deep(value, join_name("", name)))]
    if deep:  # nothing below reads such a value safely
        raise ConfigError([ConfigProblem(key, TOO_DEEP) for key in deep])
    problems = Problems()
    check_keys(raw, "", TOP_LEVEL_KEYS, problems)
    stack_posture = posture(raw, stack, secrets_provider, problems)
    kubernetes = kubernetes_spec(raw.get(KUBERNETES_KEY), KUBERNETES_KEY, problems)
    secrecy = Secrecy(frozenset(secret_keys), secure_values or {})
    ctx = _Context(stack, now, secrecy, kubernetes.namespace)
    raw_clusters = raw.get(CLUSTERS_KEY)
    clusters: list[tuple[int, ClusterSpec]] = []
    if raw_clusters is None:
        problems.add(CLUSTERS_KEY, "is required: a list of clusters (see README, Configuration)")
    elif not isinstance(raw_clusters, list) or not raw_clusters:
        problems.add(
            CLUSTERS_KEY, f"must be a non-empty list of clusters, got {quoted(raw_clusters)}")
    else:
        for index, item in enumerate(raw_clusters):
            cluster = _cluster(item, join(CLUSTERS_KEY, index), ctx, problems)
            if cluster is not None:
                clusters.append((index, cluster))
        _cross_cluster([cluster for _, cluster in clusters], problems)
        check_bundle_directories(clusters, CLUSTERS_KEY, problems)
        check_render_directory(
            kubernetes.render_yaml_to_directory, clusters,
            join(KUBERNETES_KEY, "renderYamlToDirectory"), problems,
        )
    if problems.items:
        raise InvalidConfigError(
            redacted(problems.items, raw, secrecy),
            _still_judged(clusters, raw_clusters, problems.items),
        )
    return StackSpec(tuple(cluster for _, cluster in clusters), kubernetes, stack_posture)


class InvalidConfigError(ConfigError):
    """Invalid config, and what the checks against the last deployment can still judge."""

    def __init__(self, problems: Sequence[ConfigProblem], judged: JudgedClusters) -> None:
        super().__init__(problems)
        self.judged = judged


def _still_judged(
    clusters: Sequence[tuple[int, ClusterSpec]], raw_clusters: object,
    found: Sequence[ConfigProblem],
) -> JudgedClusters:
    """The clusters with no problem of their own (none when the list as a whole has one, such
    as two clusters of one name), and the configured names if every entry has a valid one."""
    keys = [problem.key for problem in found]
    if not isinstance(raw_clusters, list) or CLUSTERS_KEY in keys:
        return JudgedClusters((), None)

    def untouched(index: int) -> bool:
        return not any(is_within(key, join(CLUSTERS_KEY, index)) for key in keys)

    names = [
        item.get("name") if isinstance(item, Mapping) else None for item in raw_clusters
    ]
    readable = all(
        isinstance(name, str) and join(join(CLUSTERS_KEY, index), "name") not in keys
        for index, name in enumerate(names)
    )
    return JudgedClusters(
        tuple((index, cluster) for index, cluster in clusters if untouched(index)),
        frozenset(n for n in names if isinstance(n, str)) if readable else None,
    )


def _decode(text: str) -> Any:
    """A config value as the stack file held it: the engine JSON-encodes structured values
    and booleans, and passes plain strings (`passphraseSecrets: warn`) as they are."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def read_stack_config(now: datetime) -> StackSpec:
    """Read this namespace's keys from the Pulumi runtime and validate them."""
    prefix = f"{NAMESPACE}:"
    config = pulumi.Config(NAMESPACE)
    names = {full[len(prefix):] for full in CONFIG.get() if full.startswith(prefix)}
    raw = {name: config.get(name) for name in sorted(names | TOP_LEVEL_KEYS)}
    values: dict[str, Any] = {}
    deep: list[ConfigProblem] = []
    for name, text in raw.items():
        if text is None:
            continue
        try:
            values[name] = _decode(text)
        except RecursionError:  # JSON nested deeper than Python's stack
            deep.append(ConfigProblem(join_name("", name), TOO_DEEP))
    if deep:
        raise ConfigError(deep)
    secret = [name for name in values if is_config_secret(prefix + name)]
    stack = pulumi.get_stack()
    # Where Pulumi.yaml is; a language host that does not pass it runs the program there.
    root = Path(pulumi.get_root_directory() or ".")
    stack_file = read_stack_file(root, stack)
    return parse_stack_config(
        values, stack=stack, now=now, secret_keys=secret,
        secrets_provider=stack_file.secrets_provider if stack_file else None,
        secure_values=stack_file.secure_values if stack_file else None,
    )
