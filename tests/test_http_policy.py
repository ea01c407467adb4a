"""es-transport-separate (INV-SEPARATE) on stacks with both layers: clean as the program builds
them, red when the HTTP layer is pointed at transport material or signed by the transport CA.
Recorded under the mock runtime and judged over the engine's gRPC Analyzer protocol."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from components import http_settings, vm_bundle
from harness.analyzer import Record
from harness.policy_run import records_of, run_policies
from tests.stack_runs import run_clusters
from tests.test_http_delivery import eck_http_cluster, vm_http_cluster
from tests.test_policy_on_stacks import _mutate, _named

SEPARATE = "es-transport-separate"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[Record]:
    out = tmp_path_factory.mktemp("http-policy")
    return records_of(run_clusters([vm_http_cluster(out), eck_http_cluster()]))


def test_both_layers_pass_every_policy(records: list[Record]) -> None:
    """Not even es-transport-leaf-eku's advisory: the program's serverAuth-only HTTP
    certificates are so by design, and es-transport-eku would block one used for transport."""
    assert run_policies(records, stack="test") == []


def test_an_http_certificate_delivered_for_transport_is_still_blocked(
    records: list[Record],
) -> None:
    # The HTTP component's certificate as a node's transport certificate: es-transport-eku
    # sees that use (which the skipped resource advisory cannot) and blocks it.
    http_cert, http_key = _named(records, "logs-http-es-1-cert"), _named(records,
                                                                        "logs-http-es-1-key")
    pems = {vm_bundle.CERTIFICATE: (http_cert.outputs or {})["certPem"],
            vm_bundle.KEY: (http_key.outputs or {})["privateKeyPem"]}

    def transport_files_are_the_http_ones(props: dict[str, Any]) -> None:
        for path, pem in pems.items():
            props["files"][path]["content"] = pem

    mutated = [
        dataclasses.replace(r, property_dependencies={
            **r.property_dependencies, "files": [http_cert.urn, http_key.urn]})
        if r.name == "logs-vm-es-1" else r
        for r in _mutate(records, "logs-vm-es-1", transport_files_are_the_http_ones)
    ]
    mandatory = {(d.policy_name, d.urn.rsplit("::", 1)[-1])
                 for d in run_policies(mutated, stack="test") if d.enforcement_level == "mandatory"}
    assert ("es-transport-eku", "logs-http-es-1-cert") in mandatory, mandatory


def _http_yml_at_transport_files(props: dict[str, Any]) -> None:
    yml = props["files"][vm_bundle.ELASTICSEARCH_YML]
    settings = yaml.safe_load(yml["content"])
    settings[http_settings.KEY] = vm_bundle.KEY
    settings[http_settings.CERTIFICATE] = vm_bundle.CERTIFICATE
    yml["content"] = yaml.safe_dump(settings)


def _eck_http_at_transport_secret(props: dict[str, Any]) -> None:
    props["spec"]["http"]["tls"]["certificate"]["secretName"] = "search-transport-pki-certs"


def _signed_by(records: list[Record], ca: str) -> Callable[[dict[str, Any]], None]:
    pem = (_named(records, ca).outputs or {})["certPem"]
    return lambda props: props.update(caCertPem=pem)


MUTATIONS: dict[str, tuple[str, str | None]] = {
    # resource, CA whose certificate becomes the issuer (None: `change` below)
    "VM HTTP settings pointed at the transport files": ("logs-vm-es-1", None),
    "VM HTTP certificate signed by the transport CA": ("logs-http-es-2-cert", "logs-ca-cert"),
    "ECK HTTP Secret pointed at the transport Secret": ("search-eck-elasticsearch", None),
    "ECK HTTP certificate signed by the transport CA": ("search-http-shared-cert",
                                                        "search-ca-cert"),
}


@pytest.mark.parametrize(("name", "issuer"), MUTATIONS.values(), ids=MUTATIONS.keys())
def test_mutated_stack_fails_separation(
    records: list[Record], name: str, issuer: str | None
) -> None:
    if issuer is not None:
        ca = _named(records, issuer)
        mutated = _mutate(records, name, _signed_by(records, issuer),
                          dependency=("caCertPem", ca.urn))
    else:
        change = (_http_yml_at_transport_files if name.startswith("logs")
                  else _eck_http_at_transport_secret)
        mutated = _mutate(records, name, change)
    diagnostics = run_policies(mutated, stack="test")
    assert SEPARATE in {d.policy_name for d in diagnostics
                        if d.enforcement_level == "mandatory"}, diagnostics


