"""Inventory rows: one per CA generation and per node certificate, read from the stack output
`clusters` (`pulumi stack output --json --show-secrets`) or from a directory of rendered
material: a `preflight --out` render (VM bundles, PEM or PKCS#12, ECK manifests, and its
record of each cluster's lifetimes) or a `vm.outputDir` of VM bundles."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from components.certificate_facts import sha256_fingerprint
from components.eck_layout import pod_cert_file
from components.quoting import quoted
from components.rotation_state import RENEW_BEFORE_HOURS, RENEWAL_DUE, parse_time
from preflight.rendered import RECORD, eck_material, vm_bundles

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
        raise InventoryError(f"{what}: not a timestamp: {quoted(value)}")
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
    renew, ca_renew = _renew_windows(lifetimes)
    generations = entry.get("caGenerations") or {"1": {"certPem": entry.get("caCertPem")}}
    rows: list[CertRow] = []
    for generation, facts in sorted(generations.items(), key=lambda item: int(item[0])):
        cert = x509.load_pem_x509_certificate(str(facts["certPem"]).encode())
        # The window the CA was created with, if wider: `up` warns from it (rotation.py).
        created = str(facts.get(RENEW_BEFORE_HOURS, ""))
        own = timedelta(hours=int(created)) if created.isdigit() else timedelta(0)
        rows.append(_ca_row(cluster, int(generation), cert, step, max(ca_renew, own)))
    for node, facts in sorted((entry.get("nodes") or {}).items()):
        not_after = _time(facts.get("notAfter"), f"{cluster}/{node} notAfter")
        due = parse_time(facts.get(RENEWAL_DUE)) or not_after - renew
        rows.append(CertRow(
            cluster, str(node), int(facts.get("caGeneration", 1)), str(facts.get("serial")),
            str(facts.get("fingerprintSha256")), not_after - validity, not_after, due, step,
        ))
    return rows


def _renew_windows(
    lifetimes: Mapping[str, Any], node_days: int | None = None
) -> tuple[timedelta, timedelta]:
    """(nodes, CA) renew-before windows of a cluster's `lifetimes`; `node_days` overrides."""
    nodes_days = (node_days if node_days is not None else
                  (lifetimes.get("nodes") or {}).get("renewBeforeDays",
                                                     DEFAULT_NODE_RENEW_BEFORE_DAYS))
    ca_days = (lifetimes.get("ca") or {}).get("renewBeforeDays", 0)
    return timedelta(days=int(nodes_days)), timedelta(days=int(ca_days))


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


@dataclass
class Inventory:
    rows: list[CertRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the input cannot show


def _record(root: Path) -> dict[str, Any] | None:
    path = root / RECORD
    if not path.is_file():
        return None
    try:
        clusters = json.loads(path.read_text(encoding="utf-8")).get("clusters")
    except (json.JSONDecodeError, AttributeError) as err:
        raise InventoryError(f"{path}: not a render record ({err}); render again") from err
    if not isinstance(clusters, dict):
        raise InventoryError(f"{path}: holds no `clusters` map; render again")
    return clusters


Certified = tuple[str, x509.Certificate, list[x509.Certificate]]  # node, certificate, trust


def _eck_certified(cluster: str, k8s: Path, notes: list[str]) -> tuple[
    list[Certified], list[x509.Certificate]
]:
    """The pods' certificates from the node-certs Secret, and the trusted CAs."""
    material = eck_material(k8s)
    trust = (x509.load_pem_x509_certificates(material.trust_pem.encode())
             if material.trust_pem else [])
    pods = material.pods()
    if trust and not pods:
        notes.append(f"{cluster}: ECK issues its pods' certificates from the CA "
                     "(eck.certificates: ca-to-eck), so only the CA is listed; read a pod's "
                     "with --probe <pod address>:9300")
    return [(pod, x509.load_pem_x509_certificate(material.files[pod_cert_file(pod)]), trust)
            for pod in pods], trust


def from_directory(root: Path, renew_before_days: int | None = None) -> Inventory:
    """Rows from rendered material; the rotation step is inferred from each node's trust list
    and issuer (introduce: the older of two CAs issues; switch: the newer). Renew-before
    windows: `renew_before_days` for the nodes if given, else the render's record."""
    record = _record(root)
    found = Inventory()
    if record is None:
        given = renew_before_days is not None
        days = renew_before_days if given else DEFAULT_NODE_RENEW_BEFORE_DAYS
        assumed = "" if given else " (the default; pass the stack's with --renew-before-days)"
        found.notes.append(
            f"{root} holds no {RECORD} (a `preflight --out` render older than it, or a "
            f"vm.outputDir): renewal dates assume a {days}-day node renew-before "
            f"window{assumed}, for ECK pods found under <cluster>/k8s too, and the CA's "
            "window is unknown (a deployed stack's are in `pulumi stack output --json "
            "--show-secrets`)"
        )
    for cluster_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        cluster = cluster_dir.name
        nodes: list[Certified] = [(b.folder.name, b.certificate, b.trust)
                                  for b in vm_bundles(cluster_dir)]
        trusted = [ca for _, _, trust in nodes for ca in trust]
        if (cluster_dir / "k8s").is_dir():
            pods, eck_trust = _eck_certified(cluster, cluster_dir / "k8s", found.notes)
            nodes += pods
            trusted += eck_trust
        cas = {generation_of(ca): ca for ca in trusted}
        if not cas:
            continue
        generations = [(node, leaf, _issuer_generation(leaf, trust))
                       for node, leaf, trust in nodes]
        step = _inferred_step(sorted(cas), {g for _, _, g in generations})
        lifetimes = (record or {}).get(cluster, {}).get("lifetimes") or {}
        renew, ca_renew = _renew_windows(lifetimes, renew_before_days)
        found.rows += [_ca_row(cluster, g, cas[g], step, ca_renew) for g in sorted(cas)]
        found.rows += [_leaf_row(cluster, node, g, leaf, step=step, renew=renew)
                       for node, leaf, g in generations]
    if not found.rows:
        raise InventoryError(f"{root}: no rendered cluster below it (<cluster>/<node>/ with "
                             "an elasticsearch.yml, or <cluster>/k8s/ manifests)")
    return found


def _issuer_generation(leaf: x509.Certificate, trust: Iterable[x509.Certificate]) -> int:
    issuer = next((ca for ca in trust if ca.subject == leaf.issuer), None)
    return generation_of(issuer) if issuer else 0


def _inferred_step(generations: list[int], issuers: Iterable[int]) -> str:
    issuing = set(issuers)
    if len(generations) < 2:
        return "none"
    if not issuing:  # ca-to-eck: ECK issues, the pods' certificates are not rendered
        return "unknown"
    if issuing == {generations[0]}:
        return "introduce"
    return "switch" if issuing == {generations[-1]} else "mixed"

