"""The `http` section of a cluster: HTTP-layer certificates, apart from transport.

`mode: none` (default) leaves HTTP alone; `provided` takes a chain and key from any CA;
`generated` makes an HTTP CA of the cluster's own (never the transport CA). Every way the
config could make the two layers share a certificate, key or CA is refused (INV-SEPARATE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from components import eck_layout, http_checks
from components.config_reader import (
    Problems,
    Secrecy,
    check_keys,
    choice,
    dns_names,
    ip_address,
    join,
    mapping,
    names,
    string,
)
from components.model import CaSpec, ClusterSpec, Delivery
from components.model_eck import EckSpec
from components.model_http import HttpCertificates, HttpMode, HttpSpec, ProvidedHttp
from components.quoting import quoted

HTTP_KEYS = frozenset(
    {"mode", "certificates", "dns", "ips", "certPem", "keyPem", "caPem", "caCommonName"}
)
PROVIDED_ONLY = ("certPem", "keyPem", "caPem")
GENERATED_ONLY = ("certificates", "caCommonName")
MAX_COMMON_NAME = 64  # RFC 5280 ub-common-name
# `spec.http.tls` fields set from the `http` keys once the program manages HTTP certificates.
OWNED_ECK_HTTP_TLS = ("certificate", "selfSignedCertificate")


@dataclass(frozen=True)
class HttpContext:
    """What the `http` section is judged against: the cluster's transport side and the stack."""

    cluster: str
    cluster_key: str  # `clusters[i]`
    stack: str
    delivery: Delivery | None
    transport_ca: CaSpec
    eck: EckSpec | None
    now: datetime
    secrecy: Secrecy


def http_spec(
    raw: object, key: str, problems: Problems, ctx: HttpContext
) -> HttpSpec | None:
    """None for `mode: none` (or a section too broken to use); problems name `key`."""
    obj = mapping(raw, key, problems)
    managed = obj is not None and obj.get("mode") not in (None, HttpMode.NONE.value)
    if ctx.eck is not None:
        _check_eck_passthrough(ctx.eck, managed, ctx.cluster_key, problems)
    if not obj:
        return None
    check_keys(obj, key, HTTP_KEYS, problems)
    mode = choice(obj, "mode", key, problems, enum=HttpMode, default=HttpMode.NONE)
    if mode is None or mode is HttpMode.NONE:
        for name in sorted(set(obj) & (HTTP_KEYS - {"mode"})):
            problems.add(
                join(key, name),
                "is only used with http.mode: provided or generated; remove it or set the mode",
            )
        return None
    dns = dns_names(obj, "dns", key, problems, ips="ips")
    ips = names(obj, "ips", key, problems, ip_address)
    unused = PROVIDED_ONLY if mode is HttpMode.GENERATED else GENERATED_ONLY
    for name in unused:
        if name in obj:
            problems.add(join(key, name), f"is not used with http.mode: {mode.value}; remove it")
    certificates = _certificates(obj, key, mode, ctx, problems)
    common_name = string(obj, "caCommonName", key, problems) or (
        f"{ctx.cluster} HTTP CA ({ctx.stack})"
    )
    if mode is HttpMode.GENERATED and len(common_name) > MAX_COMMON_NAME:
        problems.add(
            join(key, "caCommonName"),
            f"{quoted(common_name)} is {len(common_name)} characters; X.509 allows "
            f"{MAX_COMMON_NAME}: set a shorter http.caCommonName",
        )
    provided = None
    if mode is HttpMode.PROVIDED:
        provided = _provided(obj, key, ctx, problems, dns=dns, ips=ips)
        if provided is None:
            return None
    return HttpSpec(mode, certificates, dns, ips, common_name, provided)


def _certificates(
    obj: Mapping[str, Any], key: str, mode: HttpMode, ctx: HttpContext, problems: Problems
) -> HttpCertificates:
    eck = ctx.delivery is Delivery.ECK
    default = HttpCertificates.SHARED if eck or mode is HttpMode.PROVIDED else (
        HttpCertificates.PER_NODE
    )
    certificates = choice(
        obj, "certificates", key, problems, enum=HttpCertificates, default=default
    ) or default
    if eck and certificates is HttpCertificates.PER_NODE:
        problems.add(
            join(key, "certificates"),
            "'per-node' is not possible with delivery: eck: spec.http.tls.certificate names "
            "one Secret for every pod; use 'shared' (the default under ECK)",
        )
        return HttpCertificates.SHARED
    return certificates


def _provided(
    obj: Mapping[str, Any], key: str, ctx: HttpContext, problems: Problems, *,
    dns: Sequence[str], ips: Sequence[str],
) -> ProvidedHttp | None:
    chain_pem = string(obj, "certPem", key, problems, required=True)
    key_pem = string(obj, "keyPem", key, problems, required=True)
    ca_pem = string(obj, "caPem", key, problems)
    if key_pem is not None and not ctx.secrecy.encrypted(join(key, "keyPem")):
        problems.add(
            join(key, "keyPem"),
            "is plain text in the stack file; store the HTTP key encrypted with "
            f"`pulumi config set --secret --path '{join(key, 'keyPem')}' < http.key` "
            "(INV-CUSTODY)",
        )
    if not dns and not ips:
        problems.add(
            key,
            "http.mode: provided needs http.dns and/or http.ips: the names clients reach the "
            "cluster by, which the certificate must cover",
        )
    before = len(problems.items)
    chain = _load(chain_pem, join(key, "certPem"), problems)
    cas = _load(ca_pem, join(key, "caPem"), problems)
    if chain:
        for message in http_checks.check_chain(chain, ctx.now):
            problems.add(join(key, "certPem"), message)
        missing = http_checks.uncovered_names(chain[0], dns, ips)
        if missing:
            problems.add(
                join(key, "certPem"),
                f"does not cover {', '.join(missing)} (its subjectAltNames; a wildcard covers "
                "one left-most label): get a certificate for every name in http.dns/http.ips",
            )
        if key_pem is not None:
            for message in http_checks.check_key_matches(chain[0], key_pem):
                problems.add(join(key, "keyPem"), message)
        if cas and not http_checks.chains_to(chain, cas):
            problems.add(
                join(key, "caPem"),
                "did not issue http.certPem (nor its last chain certificate); give the CA "
                "clients use to verify it",
            )
        _check_transport_overlap(chain, cas, key, ctx.transport_ca, problems)
    if len(problems.items) != before or chain_pem is None or key_pem is None:
        return None
    return ProvidedHttp(_pem(chain_pem), key_pem, _pem(ca_pem) if ca_pem else None)


def _pem(text: str) -> str:
    return text.strip() + "\n"


def _load(pem: str | None, key: str, problems: Problems) -> list[x509.Certificate]:
    if pem is None:
        return []
    certs, problem = http_checks.load_certificates(pem)
    if problem or not certs:
        problems.add(key, problem or "holds no certificate")
    return certs


def _check_transport_overlap(
    chain: Sequence[x509.Certificate], cas: Sequence[x509.Certificate], key: str,
    transport_ca: CaSpec, problems: Problems,
) -> None:
    # A generated transport CA is made by `pulumi up`: config cannot name it, so only a
    # provided one can be compared here (docs/http.md).
    if transport_ca.provided is None:
        return
    ca = x509.load_pem_x509_certificate(transport_ca.provided.cert_pem.encode())
    for suffix, message in http_checks.transport_ca_overlaps(chain, cas, ca):
        problems.add(join(key, suffix), message)


def _check_eck_passthrough(
    eck: EckSpec, managed: bool, key: str, problems: Problems
) -> None:
    """`eck.spec.http.tls` must not name transport material, nor fight the `http` keys."""
    tls = _map(_map(eck.spec.get("http")).get("tls"))
    tls_key = join(key, "eck.spec.http.tls")
    secret = _map(tls.get("certificate")).get("secretName")
    # Any cluster's: another's CA Secret would make its transport CA issue this one's HTTP
    # certificates (ECK takes a Secret with ca.crt/ca.key for an HTTP CA).
    if isinstance(secret, str) and secret.endswith(
        (eck_layout.NODE_CERTS_SECRET_SUFFIX, eck_layout.CA_SECRET_SUFFIX)
    ):
        problems.add(
            join(tls_key, "certificate.secretName"),
            f"{quoted(secret)} holds transport material: HTTP and transport must not share a "
            "certificate or key (INV-SEPARATE); use http.mode: generated or provided",
        )
    for field in OWNED_ECK_HTTP_TLS:
        if managed and field in tls:
            problems.add(
                join(tls_key, field),
                "is set from the http keys when http.mode is provided or generated; remove it",
            )


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def check_http_across_clusters(clusters: Sequence[ClusterSpec], problems: Problems) -> None:
    """A provided HTTP chain may not reuse the provided transport CA of any other cluster."""
    for cluster in clusters:
        provided = cluster.http.provided if cluster.http else None
        if provided is None:
            continue
        chain = x509.load_pem_x509_certificates(provided.chain_pem.encode())
        cas = x509.load_pem_x509_certificates(provided.ca_pem.encode()) if provided.ca_pem else []
        for other in clusters:
            if other is cluster or other.ca.provided is None:
                continue
            ca = x509.load_pem_x509_certificate(other.ca.provided.cert_pem.encode())
            if http_checks.transport_ca_overlaps(chain, cas, ca):
                problems.add(
                    "clusters",
                    f"the HTTP certificate of cluster {cluster.name} reuses the transport CA of "
                    f"cluster {other.name} (key, issuer or caPem): a transport CA serves one "
                    "cluster's transport alone (INV-CA-DEDICATED, INV-SEPARATE)",
                )
