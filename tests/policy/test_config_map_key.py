"""es-transport-config-map-key: a private key flowing into a ConfigMap whose content preview
cannot read (Checkov style: each case's records and its verdict)."""

from __future__ import annotations

from harness.analyzer import UNKNOWN, PolicyAnalyzer, Record
from harness.pack_process import PackProcess

from . import fixtures as f
from . import pems
from .conftest import PACK_DIR
from .scenarios import pki
from .verdicts import verdicts

M, A = "mandatory", "advisory"
POLICY = "es-transport-config-map-key"


def _binary_config_map(name: str, key: Record) -> Record:
    props = {"metadata": {"name": name, "namespace": "search"}, "binaryData": UNKNOWN}
    return f.record(f.CONFIG_MAP, name, props, {"binaryData": [key]})


def test_a_node_key_into_an_unknown_config_map_is_reported_at_preview(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a")
    leak = f.config_map("a-node-files", {"tls.key": UNKNOWN, "tls.crt": UNKNOWN},
                        [a.node_key, a.cert])
    diagnostics = analyzer.preview([*a.records, leak])
    assert verdicts(diagnostics) == {(POLICY, A)}
    [finding] = diagnostics
    assert finding.urn == leak.urn
    assert ("[INV-CUSTODY] ConfigMap a-node-files: data depend on private key a-node-key, and "
            "preview cannot read the value yet" in finding.message)
    assert "Fix: put private keys in a Secret" in finding.message


def test_a_whole_binary_data_map_unknown_is_reported(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    leak = _binary_config_map("a-binary", a.node_key)
    assert verdicts(analyzer.preview([*a.records, leak])) == {(POLICY, A)}


def test_known_content_is_left_to_es_transport_key_custody(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    leak = f.config_map("a-node-files", {"tls.key": pems.NODE_KEY}, [a.node_key])
    assert verdicts(analyzer.preview([*a.records, leak])) == {("es-transport-key-custody", M)}


def test_known_public_material_from_a_key_passes(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    public = f.config_map("a-public", {"id.pub": "ecdsa-sha2-nistp256 AAAA"}, [a.node_key])
    assert analyzer.preview([*a.records, public]) == []


def test_an_unknown_trust_config_map_from_a_certificate_passes(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    trust = f.config_map("a-trust", {"ca.crt": UNKNOWN}, [a.ca])
    assert analyzer.preview([*a.records, trust]) == []


def test_a_ca_key_is_es_transport_ca_key_custodys_and_mandatory(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a")
    leak = f.config_map("a-ca-files", {"ca.key": UNKNOWN}, [a.ca_key])
    assert verdicts(analyzer.preview([*a.records, leak])) == {("es-transport-ca-key-custody", M)}


def test_a_stack_can_make_it_mandatory() -> None:
    a = pki("a")
    leak = f.config_map("a-node-files", {"tls.key": UNKNOWN}, [a.node_key])
    with PolicyAnalyzer(PackProcess(PACK_DIR)) as strict:
        strict.configure_stack()
        strict.configure({POLICY: "mandatory"})
        assert verdicts(strict.preview([*a.records, leak])) == {(POLICY, M)}
