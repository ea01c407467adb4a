"""Inventory rows: one per CA generation and per node certificate, read from the stack output
`clusters` (`pulumi stack output --json --show-secrets`) or from a directory of VM bundles
(`DIR/<cluster>/<node>/certs/transport.crt` + `certs/transport-ca.crt`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from components.certificate_facts import sha256_fingerprint
from components.rotation_state import RENEWAL_DUE, parse_time

CA = "CA"
# The config defaults (README): what a bundle directory, which carries no config, is judged by.
DEFAULT_NODE_RENEW_BEFORE_DAYS = 30
DEFAULT_NODE_VALIDITY_DAYS = 365


@dataclass(frozen=True)
class CertRow:
    cluster: str
    name: str  # the node, or `CA` for a CA generation
    generation: int  # the CA generation: its own for a CA, its issuer's for a node
    serial: str
    fingerprint: str
    not_before: datetime
    not_after: datetime
    renewal_due: datetime
    step: str  # the cluster's rotation step ("none" when no rotation is in progress)

    @property
    def is_ca(self) -> bool:
        return self.name == CA

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days


class InventoryError(ValueError):
    """The input is not a stack output document nor a bundle directory."""


def _time(value: object, what: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise InventoryError(f"{what}: not a timestamp: {value!r}")
    return parsed


def from_stack_outputs(document: Mapping[str, Any]) -> list[CertRow]:
    """Rows from `pulumi stack output --json --show-secrets` (or a Recording's revealed
    `stack_outputs`): the `clusters` output."""
    clusters = document.get("clusters")
    if not isinstance(clusters, Mapping):
        raise InventoryError("no `clusters` output: is this this project's stack output JSON?")
    rows: list[CertRow] = []
    for cluster, entry in sorted(clusters.items()):
        rows += _cluster_rows(str(cluster), entry)
    return rows


def _cluster_rows(cluster: str, entry: Mapping[str, Any]) -> list[CertRow]:
    rotation = entry.get("rotation") or {}
    step = str(rotation.get("step", "none"))
    lifetimes = entry.get("lifetimes") or {}
    nodes_life = lifetimes.get("nodes") or {}
    validity = timedelta(days=int(nodes_life.get("validityDays", DEFAULT_NODE_VALIDITY_DAYS)))
    renew = timedelta(days=int(nodes_life.get("renewBeforeDays", DEFAULT_NODE_RENEW_BEFORE_DAYS)))
    ca_renew = timedelta(days=int((lifetimes.get("ca") or {}).get("renewBeforeDays", 0)))
    generations = entry.get("caGenerations") or {"1": {"certPem": entry.get("caCertPem")}}
    rows: list[CertRow] = []
    for generation, facts in sorted(generations.items(), key=lambda item: int(item[0])):
        cert = x509.load_pem_x509_certificate(str(facts["certPem"]).encode())
        rows.append(_ca_row(cluster, int(generation), cert, step, ca_renew))
    for node, facts in sorted((entry.get("nodes") or {}).items()):
        not_after = _time(facts.get("notAfter"), f"{cluster}/{node} notAfter")
        due = parse_time(facts.get(RENEWAL_DUE)) or not_after - renew
        rows.append(CertRow(
            cluster, str(node), int(facts.get("caGeneration", 1)), str(facts.get("serial")),
            str(facts.get("fingerprintSha256")), not_after - validity, not_after, due, step,
        ))
    return rows


def _ca_row(
    cluster: str, generation: int, cert: x509.Certificate, step: str, renew: timedelta
) -> CertRow:
    return _leaf_row(cluster, CA, generation, cert, step=step, renew=renew)


def _leaf_row(
    cluster: str, name: str, generation: int, cert: x509.Certificate, *, step: str,
    renew: timedelta,
) -> CertRow:
    return CertRow(
        cluster, name, generation, format(cert.serial_number, "x"), sha256_fingerprint(cert),
        cert.not_valid_before_utc, cert.not_valid_after_utc, cert.not_valid_after_utc - renew,
        step,
    )


def generation_of(ca: x509.Certificate) -> int:
    """A generation's number from its subject serialNumber (`g2`, ...); generation 1 has none
    (components.cluster_ca.generation_serial)."""
    values = ca.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    text = str(values[0].value) if values else ""
    return int(text[1:]) if text.startswith("g") and text[1:].isdigit() else 1


def from_directory(root: Path, renew_before_days: int) -> list[CertRow]:
    """Rows from rendered VM bundles; the rotation step is inferred from each bundle's trust
    list and issuer (introduce: the older of two CAs issues; switch: the newer)."""
    rows: list[CertRow] = []
    for cluster_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        cas: dict[int, x509.Certificate] = {}
        nodes: list[tuple[str, x509.Certificate, int]] = []
        for crt in sorted(cluster_dir.glob("*/certs/transport.crt")):
            trust = x509.load_pem_x509_certificates(crt.with_name("transport-ca.crt").read_bytes())
            leaf = x509.load_pem_x509_certificate(crt.read_bytes())
            issuer = next((ca for ca in trust if ca.subject == leaf.issuer), None)
            for ca in trust:
                cas[generation_of(ca)] = ca
            nodes.append((crt.parent.parent.name, leaf, generation_of(issuer) if issuer else 0))
        if not nodes:
            continue
        step = _inferred_step(sorted(cas), {g for _, _, g in nodes})
        renew = timedelta(days=renew_before_days)
        rows += [_ca_row(cluster_dir.name, g, cas[g], step, timedelta(0)) for g in sorted(cas)]
        rows += [
            _leaf_row(cluster_dir.name, node, generation, leaf, step=step, renew=renew)
            for node, leaf, generation in nodes
        ]
    if not rows:
        raise InventoryError(f"{root}: no <cluster>/<node>/certs/transport.crt below it")
    return rows


def _inferred_step(generations: list[int], issuers: Iterable[int]) -> str:
    issuing = set(issuers)
    if len(generations) < 2:
        return "none"
    if issuing == {generations[0]}:
        return "introduce"
    return "switch" if issuing == {generations[-1]} else "mixed"

