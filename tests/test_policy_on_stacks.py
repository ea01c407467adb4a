"""The policy pack on whole stacks recorded from the program: clean as built, red when mutated.

Each stack is recorded under the mock runtime and sent over the engine's gRPC Analyzer protocol
(Analyze per resource, then AnalyzeStack), as `pulumi preview --policy-pack policy` would.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from components.program import main
from harness.analyzer import Record
from harness.mock_runtime import EngineState, Secret, Unknown, run_program
from harness.policy_run import records_of, run_policies
from harness.stack_file import load_stack_file
from tests.stack_runs import REPO, run_clusters, run_stack
from tests.x509_factory import Issued, make_ca, make_key


@pytest.fixture(scope="module")
def dev_records() -> list[Record]:
    return records_of(run_stack("dev"))


# What each example stack is expected to report: staging hands its metrics CA to ECK
# (ca-to-eck), the one INV-CUSTODY exception, which is reported but allowed.
EXPECTED_ADVISORIES = {
    "dev": set(),
    "staging": {("es-transport-ca-key-custody-advisory", "metrics-eck-ca-secret")},
    "prod": set(),
}


@pytest.mark.parametrize("stack", EXPECTED_ADVISORIES)
def test_example_stacks_pass_every_policy(stack: str) -> None:
    diagnostics = run_policies(records_of(run_stack(stack)), stack=stack)
    assert [d for d in diagnostics if d.enforcement_level == "mandatory"] == []
    assert {(d.policy_name, d.urn.rsplit("::", 1)[-1]) for d in diagnostics} == (
        EXPECTED_ADVISORIES[stack])


def _named(records: list[Record], name: str) -> Record:
    return next(r for r in records if r.name == name)


def _mutate(records: list[Record], name: str, change: Callable[[dict[str, Any]], None],
            *, dependency: tuple[str, str] | None = None) -> list[Record]:
    """A copy of `records` where resource `name`'s inputs (and outputs) went through `change`."""
    assert any(r.name == name for r in records), f"no resource {name}"
    mutated = []
    for record in records:
        if record.name != name:
            mutated.append(record)
            continue
        properties = copy.deepcopy(dict(record.properties))
        change(properties)
        outputs = None
        if record.outputs is not None:
            outputs = {**copy.deepcopy(dict(record.outputs)), **properties}
        deps = dict(record.property_dependencies)
        if dependency is not None:
            deps[dependency[0]] = [dependency[1]]
        mutated.append(dataclasses.replace(
            record, properties=properties, outputs=outputs, property_dependencies=deps))
    return mutated


def _drop_client_auth(props: dict[str, Any]) -> None:
    props["allowedUses"] = [u for u in props["allowedUses"] if u != "client_auth"]


def _weaken_eck(props: dict[str, Any]) -> None:
    config = props["spec"]["nodeSets"][0]["config"]
    config["xpack.security.transport.ssl.client_authentication"] = "optional"


def _misspell_eck_client_auth(props: dict[str, Any]) -> None:
    config = props["spec"]["nodeSets"][0]["config"]
    config["xpack.security.transport.ssl.client_authentication"] = "requried"


def _misspell_vm_setting(props: dict[str, Any]) -> None:
    """The node's elasticsearch.yml with a misspelled setting: Elasticsearch refuses to start."""
    props["files"]["elasticsearch.yml"]["content"] += TYPO


TYPO = "xpack.security.transport.ssl.certificate_authorites: [certs/transport-ca.crt]\n"


def _ca_key_in_config_map(props: dict[str, Any]) -> None:
    props["data"]["ca.key"] = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----"


MUTATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "serverAuth-only node certificate": (
        "search-search-es-default-1-cert", _drop_client_auth, "es-transport-eku"),
    "node certificate made a CA": (
        "search-search-es-default-0-cert", lambda p: p.update(isCaCertificate=True),
        "es-transport-leaf"),
    "key with the provider's default curve": (
        "logs-es-3-key", lambda p: p.pop("ecdsaCurve"), "es-transport-key-strength"),
    "RSA-1024 key": ("search-search-es-default-0-key",
                     lambda p: p.update(algorithm="RSA", rsaBits=1024, ecdsaCurve=None),
                     "es-transport-key-strength"),
    "ten-year node certificate": (
        "logs-es-1-cert", lambda p: p.update(validityPeriodHours=87600), "es-transport-validity"),
    "client_authentication optional under ECK": (
        "search-eck-elasticsearch", _weaken_eck, "es-transport-mtls"),
    "client_authentication misspelled under ECK": (
        "search-eck-elasticsearch", _misspell_eck_client_auth, "es-transport-settings"),
    "misspelled setting in a VM node's elasticsearch.yml": (
        "logs-vm-es-1", _misspell_vm_setting, "es-transport-settings"),
    "private key in a ConfigMap": ("search-eck-trust", _ca_key_in_config_map,
                                   "es-transport-key-custody"),
}


@pytest.mark.parametrize(("name", "change", "policy"), MUTATIONS.values(), ids=MUTATIONS.keys())
def test_mutated_stack_fails_the_expected_policy(
    dev_records: list[Record], name: str, change: Callable[[dict[str, Any]], None], policy: str
) -> None:
    diagnostics = run_policies(_mutate(dev_records, name, change), stack="dev")
    mandatory = {(d.policy_name, d.urn.rsplit("::", 1)[-1]) for d in diagnostics
                 if d.enforcement_level == "mandatory"}
    # A mutation may break more than one invariant (a CA node certificate also lacks
    # cert_signing); the expected policy must be among the mandatory verdicts.
    assert policy in {p for p, _ in mandatory}, diagnostics


def _eck_cluster(name: str) -> dict[str, Any]:
    return {"name": name, "delivery": "eck", "eck": {
        "name": name, "namespace": "elastic", "version": "8.19.2",
        "nodeSets": [{"name": "default", "count": 2}]}}


def test_node_signed_by_another_clusters_ca_is_caught() -> None:
    records = records_of(run_clusters([_eck_cluster("blue"), _eck_cluster("green")]))
    assert run_policies(records, stack="test") == []
    foreign_ca = _named(records, "green-ca-cert")
    foreign_pem = (foreign_ca.outputs or {})["certPem"]
    # Signed by the other cluster's CA: its certificate and its key (a certificate given
    # with another CA's key is es-transport-trusted-ca's finding, INV-CA-SHAPE).
    foreign_key = (_named(records, "green-ca-key").outputs or {})["privateKeyPem"]
    mutated = _mutate(
        records, "blue-blue-es-default-1-cert",
        lambda p: p.update(caCertPem=foreign_pem, caPrivateKeyPem=foreign_key),
        dependency=("caCertPem", foreign_ca.urn),
    )
    diagnostics = run_policies(mutated, stack="test")
    assert {d.policy_name for d in diagnostics if d.enforcement_level == "mandatory"} == {
        "es-transport-ca-dedicated"}, diagnostics


def _provided_ca_to_eck(ca: Issued) -> dict[str, Any]:
    cluster = _eck_cluster("ext")
    cluster["eck"] |= {"certificates": "ca-to-eck"}
    return {**cluster, "ca": {"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem},
            "http": {"mode": "generated"}}


def test_a_provided_ca_key_is_known_by_its_certificate_wherever_it_goes() -> None:
    """A provided CA handed to ECK signs nothing the pack sees: its key is recognised by the
    CA certificate beside it, in any PEM form. Handed over it is the ca-to-eck advisory, as
    for a generated CA; anywhere else it is a custody violation."""
    ca = make_ca("ops transport CA", key=make_key("p256"))
    records = records_of(run_clusters([_provided_ca_to_eck(ca)], secret=True))
    diagnostics = run_policies(records, stack="test")
    assert {(d.policy_name, d.urn.rsplit("::", 1)[-1]) for d in diagnostics} == {
        ("es-transport-ca-key-custody-advisory", "ext-eck-ca-secret")}
    def add_ca_key(props: dict[str, Any]) -> None:
        sec1 = ca.traditional_key_pem.encode()
        props["data"]["value"]["extra.key"] = base64.b64encode(sec1).decode()

    diagnostics = run_policies(_mutate(records, "ext-eck-http-cert", add_ca_key), stack="test")
    assert ("es-transport-ca-key-custody", "ext-eck-http-cert") in {
        (d.policy_name, d.urn.rsplit("::", 1)[-1]) for d in diagnostics
        if d.enforcement_level == "mandatory"}, diagnostics


def test_a_first_preview_judges_inputs_without_guessing_unknowns() -> None:
    """At the first preview nothing exists yet: keys, certificates and every value derived
    from them are unknown. Rules must judge inputs and not guess."""
    recording = run_program(
        main, config=load_stack_file(REPO / "stacks" / "Pulumi.dev.yaml").config,
        stack="dev", preview=True,
    )
    csr = recording.named("logs-es-1-csr")
    assert isinstance(csr.inputs["privateKeyPem"], Secret | Unknown)
    records = records_of(recording)
    diagnostics = run_policies(records, stack="dev")
    assert [d for d in diagnostics if d.enforcement_level == "mandatory"] == []
    # ...and a serverAuth-only transport certificate is still caught before anything exists.
    mutated = _mutate(records, "search-search-es-default-1-cert", _drop_client_auth)
    assert {(d.policy_name, d.enforcement_level) for d in run_policies(mutated, stack="dev")} >= {
        ("es-transport-eku", "mandatory")}


def _logs(ca: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "logs", "delivery": "vm", "vm": {"writeLocalFiles": False}, "ca": ca,
             "nodes": [{"name": "es-1", "dns": ["es-1.logs.internal"]}]}]


def test_unprotected_cas_are_reported_outside_dev_except_a_retiring_one() -> None:
    state = EngineState()
    for step in ("introduce", "switch"):
        run_clusters(_logs({"rotation": {"step": step}}), stack="staging", state=state)
    retire = run_clusters(_logs({"rotation": {"step": "retire"}}), stack="staging", state=state)
    assert retire.named("logs-ca-key").protect is False  # g1, lifted for deletion
    assert run_policies(records_of(retire), stack="staging") == []
    unprotected = run_clusters(_logs({}), stack="staging", settings={"protectCa": False})
    flagged = {(d.policy_name, d.enforcement_level, d.urn.rsplit("::", 1)[-1])
               for d in run_policies(records_of(unprotected), stack="staging")}
    assert flagged == {("es-transport-ca-protected", "advisory", "logs-ca-key"),
                       ("es-transport-ca-protected", "advisory", "logs-ca-cert")}


def _waived_optional_logs(*nodes: str) -> tuple[dict[str, Any], list[Record]]:
    """policy/config.example.json (its waiver of es-transport-mtls on logs-vm-es-1), and the
    records of a VM cluster `logs` whose stack waiver renders optional client authentication."""
    config = json.loads((REPO / "policy" / "config.example.json").read_text())
    # The example's date is an example: only its waiver's name and policy are under test here.
    for waiver in config["es-transport-mtls"]["waivers"]:
        waiver["expires"] = "2099-01-31"
    cluster = {
        "name": "logs", "delivery": "vm", "vm": {"writeLocalFiles": False},
        "transport": {"clientAuthentication": "optional", "waiver": {
            "name": "legacy-tribe", "reason": "OPS-1234", "expires": "2099-01-31"}},
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in nodes],
    }
    return config, records_of(run_clusters([cluster]))


def test_a_stack_waiver_still_needs_the_packs_own_waiver_as_the_example_config_gives() -> None:
    """README `transport.waiver`: the stack's waiver lets the program render optional client
    authentication; the pack blocks it unless its config waives each resource, as
    policy/config.example.json does for logs-vm-es-1 (and for it alone)."""
    config, records = _waived_optional_logs("es-1", "es-2")
    mtls = {
        (d.policy_name, d.enforcement_level, d.urn.rsplit("::", 1)[-1])
        for d in run_policies(records, stack="dev", config=config)
        if d.policy_name.startswith("es-transport-mtls")
    }
    assert mtls == {
        ("es-transport-mtls-advisory", "advisory", "logs-vm-es-1"),
        ("es-transport-mtls", "mandatory", "logs-vm-es-2"),
    }


def test_the_mtls_waiver_does_not_waive_a_setting_elasticsearch_refuses() -> None:
    """es-transport-settings is its own policy, so that the waiver a weakened
    client_authentication needs (config.example.json waives es-transport-mtls on logs-vm-es-1)
    never passes a node that would not start."""
    config, records = _waived_optional_logs("es-1")
    records = _mutate(records, "logs-vm-es-1", _misspell_vm_setting)
    found = {(d.policy_name, d.enforcement_level, d.urn.rsplit("::", 1)[-1])
             for d in run_policies(records, stack="dev", config=config)}
    assert found == {
        ("es-transport-mtls-advisory", "advisory", "logs-vm-es-1"),
        ("es-transport-settings", "mandatory", "logs-vm-es-1"),
    }
