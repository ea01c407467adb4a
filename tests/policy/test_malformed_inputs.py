"""Malformed inputs on which test_pack_fuzz.py found the pack failing the whole gRPC call (or
misreading them): each is the failing input as a fixture, with the verdict expected.

A hand-written program may register any value under the types the pack judges; the pack treats
a malformed value as what it is (unknown, absent or invalid) and, where an invariant depends
on it, reports it.
"""

from __future__ import annotations

import copy
import dataclasses
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pulumi_policy.deserialize import SPECIAL_ASSET_SIG as ASSET_SIG

from harness.analyzer import SECRET_SIG_KEY, UNKNOWN, PolicyAnalyzer, Record
from tests.x509_factory import der_of, pem_of

from . import fixtures as f
from . import pems
from .scenarios import eck_per_node, pki, vm_bundle
from .verdicts import verdicts

T = f.TRANSPORT
M, A = "mandatory", "advisory"
DEADLINE_S = 20.0
KEY = f.private_key("k")
REQ = f.csr("req", KEY)
CA = f.ca_cert("ca", KEY)


def _surgery(pem: str, cut: Callable[[bytes], bytes]) -> str:
    label, der = der_of(pem)
    return pem_of(label, cut(der))


def _patch(old: str, new: str, nth: int = 0) -> Callable[[bytes], bytes]:
    return lambda der: pems.patched(der, old, new, nth)


# Certificates cryptography loads, then fails to read a part of (found by the fuzzing).
EXTENSIONS_MALFORMED = _surgery(pems.PRIVATE_CA, pems.broken_basic_constraints)
PUBLIC_ROOT_EXTENSIONS_MALFORMED = _surgery(pems.public_root(), pems.broken_basic_constraints)
EXTENSION_DUPLICATED = _surgery(pems.PRIVATE_CA, pems.duplicated_extension)
# prime256v1's OID made an unknown curve's
KEY_ON_UNKNOWN_CURVE = _surgery(pems.PRIVATE_CA, _patch("06082a8648ce3d030107",
                                                        "06082a8648ce3d03017f"))
VERSION_INVALID = _surgery(pems.PRIVATE_CA, pems.invalid_version)  # fails to load
# The subject's "cluster-a..." (the issuer's comes first) with an invalid UTF-8 first byte
SUBJECT_MALFORMED = _surgery(pems.PRIVATE_CA, _patch("0c16636c75737465722d61",
                                                     "0c16ff6c75737465722d61", nth=1))


def leaf(**props: object) -> Record:
    return f.node_cert("leaf", REQ, CA, KEY, **props)


def rsa(bits: object) -> Record:
    return f.record(f.KEY, "k", {"algorithm": "RSA", "rsaBits": bits})


def _key_file(content: object, mode: object) -> Record:
    """A bundle whose node key (named by transport.ssl.key) has `content` and `mode`."""
    return f.bundle("b", {"elasticsearch.yml": (f.yml(f.good_vm_settings()), "0644"),
                          "certs/node.key": (content, mode)})


CASES: dict[str, tuple[Record, set[tuple[str, str]]]] = {
    # Not base64 (the API server refuses the object): nothing is delivered, nothing judged.
    "secret-data-not-ascii": (f.secret("s", {"elasticsearch.yml": "é"}, encode=False), set()),
    "configmap-binary-data-not-ascii": (
        f.record(f.CONFIG_MAP, "c", {"metadata": {"name": "c"}, "binaryData": {"x": "\u00e9"}}),
        set()),
    # ... and the Secret's other keys are still judged.
    "secret-data-not-ascii-beside-a-violation": (
        f.secret("s", {"x": "é", "elasticsearch.yml": f.b64(f.yml(f.good_vm_settings(
            **{T + "client_authentication": "none"})))}, encode=False),
        {("es-transport-mtls", M)}),
    # Line breaks in base64 (`base64` wraps at 76 characters): Kubernetes ignores them, so the
    # settings are delivered and judged.
    "secret-data-base64-with-line-breaks": (
        f.secret("s", {"elasticsearch.yml": "\n".join(textwrap.wrap(f.b64(f.yml(
            f.good_vm_settings(**{T + "client_authentication": "none"}))), 76)) + "\r\n"},
            encode=False),
        {("es-transport-mtls", M)}),
    "secret-data-base64-with-spaces-is-refused": (
        f.secret("s", {"elasticsearch.yml": " ".join(textwrap.wrap(f.b64(f.yml(
            f.good_vm_settings(**{T + "client_authentication": "none"}))), 76))},
            encode=False),
        set()),
    # pulumi-tls numbers given another type (the provider refuses them): a limit that cannot
    # be judged is reported, not passed; an unset one is pulumi-tls's default.
    "key-rsa-bits-text": (rsa("1024"), {("es-transport-key-strength", M)}),
    "key-rsa-bits-list": (rsa([4096]), {("es-transport-key-strength", M)}),
    "key-rsa-bits-boolean": (rsa(True), {("es-transport-key-strength", M)}),
    "key-rsa-bits-null-is-the-default": (rsa(None), set()),
    "leaf-early-renewal-text": (leaf(earlyRenewalHours="720"), {("es-transport-validity", M)}),
    "leaf-early-renewal-map": (leaf(earlyRenewalHours={"hours": "720"}),
                               {("es-transport-validity", M)}),
    "leaf-early-renewal-null-is-zero": (leaf(earlyRenewalHours=None),
                                        {("es-transport-validity", M)}),
    "leaf-validity-text": (leaf(validityPeriodHours="87600"), {("es-transport-validity", M)}),
    "leaf-validity-boolean": (leaf(validityPeriodHours=True), {("es-transport-validity", M)}),
    # allowedUses that is not a list (pulumi-tls refuses it): no usage can be told from it,
    # where a string was read as its characters, a map as its keys, anything else raised.
    "ca-uses-text": (f.ca_cert("ca", KEY, allowedUses="cert_signing"),
                     {("es-transport-ca-shape", M)}),
    "ca-uses-number": (f.ca_cert("ca", KEY, allowedUses=5), {("es-transport-ca-shape", M)}),
    "leaf-uses-map": (leaf(allowedUses={"server_auth": True}),
                      {("es-transport-leaf-usage", A)}),
    "leaf-uses-asset": (leaf(allowedUses={SECRET_SIG_KEY: ASSET_SIG, "text": "server_auth"}),
                        {("es-transport-leaf-usage", A)}),
    "leaf-uses-unknown-in-a-list": (leaf(allowedUses=["digital_signature", UNKNOWN]), set()),
    # isCaCertificate that is not a boolean (pulumi-tls refuses it): whether the certificate
    # is a CA cannot be told, where it was judged a leaf. Unset is false.
    "ca-is-ca-text": (f.ca_cert("ca", KEY, isCaCertificate="true"),
                      {("es-transport-ca-shape", M)}),
    "leaf-is-ca-number": (leaf(isCaCertificate=1), {("es-transport-ca-shape", M)}),
    "leaf-is-ca-list": (leaf(isCaCertificate=[True]), {("es-transport-ca-shape", M)}),
    "leaf-is-ca-null-is-false": (leaf(isCaCertificate=None), set()),
    "leaf-is-ca-false": (leaf(isCaCertificate=False), set()),
    # YAML aliases and merge keys as Elasticsearch reads them: Jackson's YAMLParser does not
    # expand an alias, it reads `*name` as the text "name"; so a map holding itself is two
    # settings, and `<<: *tls` is the setting `<<` = "tls", not the anchored map merged in
    # (the pack expanded both: a merged `client_authentication: none` was judged, and a few
    # lines of aliases were 2**n settings). Elasticsearch then refuses the unknown setting
    # `xpack.security.transport.ssl.<<`, so no transport runs without client certificates;
    # es-transport-settings reports that it does not start. Past 10,000 settings a text is
    # not read.
    "configmap-yml-alias-is-its-anchor-name": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "node.attr.x: &a {b: *a}\n"}), set()),
    "configmap-yml-merge-key-is-not-expanded": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "node.attr.tls: &tls {client_authentication: none}\n"
        "xpack.security.transport.ssl: {<<: *tls}\n"}), {("es-transport-settings", M)}),
    "configmap-yml-of-10001-settings": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "".join(f"node.attr.a{i}: x\n" for i in range(10_001))}),
        {("es-transport-mtls", M)}),
    # Not YAML, or YAML that is not a map (Elasticsearch refuses both): reported, where the
    # pack read nothing (or, for a list or scalar, no settings at all).
    "configmap-yml-not-yaml": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "a: b\n c: d\n"}), {("es-transport-mtls", M)}),
    "bundle-yml-a-list": (f.bundle("b", {"elasticsearch.yml": ("- a\n- b\n", "0644")}),
                          {("es-transport-mtls", M)}),
    "secret-yml-a-scalar": (f.secret("s", {"elasticsearch.yml": "xpack\n"}),
                            {("es-transport-mtls", M)}),
    # `!!bool` on a word that is no boolean: Jackson reads the word (Elasticsearch then refuses
    # it as a boolean); PyYAML's constructor raised KeyError, which failed the call.
    "configmap-yml-bool-tag-on-a-word": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "xpack.security.enabled: !!bool maybe\n"}),
        {("es-transport-mtls", M)}),
    "configmap-yml-bool-tag-on-yes": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "xpack.security.enabled: !!bool YES\n"}), set()),
    # A key file whose mode is not a string: the bundle's provider (LocalFiles) takes only a
    # 4-digit octal string, so no mode can be shown; it was not judged at all.
    "bundle-key-mode-384": (_key_file(pems.NODE_KEY, 384), {("es-transport-key-custody", M)}),
    "bundle-key-mode-0o644": (_key_file(pems.NODE_KEY, 0o644),
                              {("es-transport-key-custody", M)}),
    "bundle-key-mode-boolean": (_key_file(pems.NODE_KEY, True),
                                {("es-transport-key-custody", M)}),
    "bundle-key-mode-list": (_key_file(pems.NODE_KEY, ["0600"]),
                             {("es-transport-key-custody", M)}),
    "bundle-key-without-mode": (_key_file(pems.NODE_KEY, None),
                                {("es-transport-key-custody", M)}),
    "bundle-named-key-mode-384": (_key_file(UNKNOWN, 384), {("es-transport-key-custody", M)}),
    "bundle-key-mode-0400": (_key_file(pems.NODE_KEY, "0400"), set()),
    "bundle-named-key-mode-unknown": (_key_file(UNKNOWN, UNKNOWN), set()),
    # Keys, and booleans in lists, as Elasticsearch reads them: the text as written (Jackson's
    # field names; Settings.fromXContent adds a list's boolean as `parser.text()`). A profile
    # key `on:` is the profile "on" (PyYAML made it "True"); `certificate_authorities: [yes]`
    # names the file `yes` (PyYAML made it true, which names no file, so the public root in it
    # was not judged).
    "configmap-yml-boolean-key-is-its-text": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "transport.profiles:\n  on:\n    xpack.security.ssl:\n"
        "      client_authentication: none\n"}), {("es-transport-mtls", M)}),
    "bundle-yml-boolean-in-a-list-is-its-text": (f.bundle("b", {
        "elasticsearch.yml": (f.yml(f.good_vm_settings()).replace("- certs/ca.crt", "- yes"),
                              "0644"),
        "yes": (pems.public_root(), "0644")}), {("es-transport-trusted-ca", M)}),
    # A key twice in one map: Elasticsearch refuses to start (Jackson's strict duplicate
    # detection), so neither value may be judged (PyYAML kept the last: `none` then
    # `required` passed). The same setting once flat and once nested is two keys of two maps:
    # Elasticsearch keeps the later value (Settings.Builder.put), and so does the pack.
    "configmap-yml-key-twice-in-one-map": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + f"{T}client_authentication: none\n"
        f"{T}client_authentication: required\n"}), {("es-transport-mtls", M)}),
    "configmap-yml-nested-key-twice-in-one-map": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + "xpack:\n  security:\n    transport.ssl.client_authentication: "
        "none\n    transport.ssl.client_authentication: required\n"}), {("es-transport-mtls", M)}),
    "configmap-yml-setting-flat-then-nested-keeps-the-later": (
        f.config_map("c", {"elasticsearch.yml": f.yml(f.good_vm_settings()) +
                           f"{T}client_authentication: none\n"
                           "xpack: {security: {transport.ssl.client_authentication: required}}\n"}),
        set()),
    "configmap-yml-setting-nested-then-flat-keeps-the-later": (
        f.config_map("c", {"elasticsearch.yml": "xpack: {security: {transport.ssl: "
                           "{client_authentication: required}}}\n" + f.yml(f.good_vm_settings())
                           + f"{T}client_authentication: none\n"}),
        {("es-transport-mtls", M)}),
    # A setting without a value (`key:`, `~`, `null`), or null in a list: Elasticsearch loads
    # elasticsearch.yml refusing nulls ("null-valued setting found for key [...]"; "only value
    # lists are allowed"), where the pack took the setting for unset (client_authentication:
    # required by default) or skipped the item. Quoted empty text is a value.
    "configmap-yml-setting-without-a-value": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + f"{T}client_authentication:\n"}), {("es-transport-mtls", M)}),
    "secret-yml-setting-null": (f.secret("s", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + f"{T}client_authentication: ~\n"}), {("es-transport-mtls", M)}),
    "bundle-yml-null-in-a-list": (f.bundle("b", {"elasticsearch.yml": (f.yml(
        f.good_vm_settings()).replace("- certs/ca.crt", "- certs/ca.crt\n- null"), "0644")}),
        {("es-transport-mtls", M)}),
    "configmap-yml-setting-quoted-empty": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings()) + 'node.attr.rack: ""\n'}), set()),
    # A document that is null (`~`, `null`, a document start with nothing after it):
    # Elasticsearch refuses it (VALUE_NULL, not START_OBJECT); only a text with no document at
    # all (empty, comments only) holds no settings (so transport TLS is not enabled). The pack
    # read the first three as empty too.
    "configmap-yml-a-null-document": (f.config_map("c", {"elasticsearch.yml": "~\n"}),
                                      {("es-transport-mtls", M)}),
    "secret-yml-a-null-document": (f.secret("s", {"elasticsearch.yml": "# tls\nnull\n"}),
                                   {("es-transport-mtls", M)}),
    "bundle-yml-an-empty-document": (f.bundle("b", {"elasticsearch.yml": ("---\n", "0644")}),
                                     {("es-transport-mtls", M)}),
    "configmap-yml-comments-only": (f.config_map("c", {"elasticsearch.yml": "# none yet\n"}),
                                    {("es-transport-mtls", M)}),
    # A boolean setting given text that is no boolean ("yes" quoted, "False"): Elasticsearch
    # accepts only true/false (Booleans.parseBoolean) and refuses to start; the message said the
    # traffic was plaintext (and `"True"` passed as true).
    "configmap-yml-transport-enabled-quoted-yes": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings(**{T + "enabled": "yes"}))}), {("es-transport-mtls", M)}),
    "configmap-yml-transport-enabled-quoted-capital-true": (
        f.config_map("c", {"elasticsearch.yml": f.yml(f.good_vm_settings(
            **{T + "enabled": "True"}))}),
        {("es-transport-mtls", M)}),
    "secret-yml-security-enabled-quoted-capital-false": (f.secret("s", {"elasticsearch.yml": f.yml(
        f.good_vm_settings(**{"xpack.security.enabled": "False"}))}), {("es-transport-mtls", M)}),
    "configmap-yml-transport-enabled-quoted-true": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings(**{T + "enabled": "true"}))}), set()),
    # Pass fixture: the same settings, with comments and a document start, are read.
    "configmap-yml-with-comments-and-a-document-start": (f.config_map("c", {
        "elasticsearch.yml": "# node settings\n---\n" + f.yml(f.good_vm_settings())}), set()),
    "configmap-yml-nested-990-deep": (
        f.config_map("c", {"elasticsearch.yml": f"{{{T}client_authentication: none, a: "
                           + "{a: " * 989 + "1" + "}" * 990}),
        {("es-transport-mtls", M)}),
    # A provided CA that loads but whose extensions, key or subject do not parse: each part is
    # judged as far as it can be; extensions that cannot be parsed show no CA.
    "provided-ca-extensions-malformed": (leaf(caCertPem=EXTENSIONS_MALFORMED),
                                         {("es-transport-trusted-ca", M)}),
    "provided-ca-extension-duplicated": (leaf(caCertPem=EXTENSION_DUPLICATED),
                                         {("es-transport-trusted-ca", M)}),
    "provided-public-root-extensions-malformed": (
        leaf(caCertPem=PUBLIC_ROOT_EXTENSIONS_MALFORMED), {("es-transport-trusted-ca", M)}),
    "provided-ca-key-on-an-unknown-curve": (leaf(caCertPem=KEY_ON_UNKNOWN_CURVE), set()),
    "provided-ca-subject-malformed": (leaf(caCertPem=SUBJECT_MALFORMED), set()),
    "provided-ca-version-invalid-is-no-certificate": (leaf(caCertPem=VERSION_INVALID), set()),
}
# What the message of such a finding must say (the value, and that it is not a number).
NAMED: dict[str, tuple[str, ...]] = {
    "key-rsa-bits-text": ("rsaBits is '1024', not a number of bits", "Fix: set rsa_bits=2048"),
    "leaf-early-renewal-map": ("early_renewal_hours is {'hours': '720'}, not a number of hours",
                               "Fix: set early_renewal_hours to a number >= 24"),
    "leaf-validity-text": ("validity_period_hours is '87600', not a number of hours",
                           "Fix: set validity_period_hours to a number <= 19800"),
    "ca-uses-text": ("allowedUses is 'cert_signing', not a list of usages",
                     'Fix: set allowed_uses to a list: ["cert_signing", "crl_signing"]'),
    "leaf-uses-map": ("allowedUses is {'server_auth': True}, not a list of usages",),
    "ca-is-ca-text": ("isCaCertificate is 'true', not a boolean",
                      "Fix: set is_ca_certificate to true (a CA) or false"),
    "leaf-is-ca-list": ("isCaCertificate is [True], not a boolean",),
    "configmap-yml-of-10001-settings": (
        "data[elasticsearch.yml]: elasticsearch.yml holds more than 10000 settings",
        "Fix: write elasticsearch.yml as one YAML map of settings"),
    "configmap-yml-not-yaml": ("data[elasticsearch.yml]: elasticsearch.yml is not YAML: "
                               "mapping values are not allowed in this context (line 8, "
                               "column 3)", "cannot be shown"),
    "bundle-yml-a-list": ("files[elasticsearch.yml]: elasticsearch.yml is a YAML list, not a "
                          "map of settings",),
    "configmap-yml-bool-tag-on-a-word": ("xpack.security.enabled is 'maybe', not a boolean",
                                         "refuses to start"),
    "configmap-yml-transport-enabled-quoted-yes": (
        "data[elasticsearch.yml]: xpack.security.transport.ssl.enabled is 'yes', not a boolean",
        "Elasticsearch accepts only true or false for it and refuses to start",
        "Fix: set xpack.security.transport.ssl.enabled: true"),
    "secret-yml-security-enabled-quoted-capital-false": (
        "xpack.security.enabled is 'False', not a boolean",),
    "configmap-yml-a-null-document": (
        "data[elasticsearch.yml]: elasticsearch.yml is a YAML null (`~`, `null`, or a document "
        "start with nothing after it), not a map of settings (Elasticsearch refuses it",),
    "bundle-yml-an-empty-document": ("files[elasticsearch.yml]: elasticsearch.yml is a YAML null",),
    "configmap-yml-comments-only": ("xpack.security.transport.ssl.enabled is None, not true",),
    "configmap-yml-setting-without-a-value": (
        "elasticsearch.yml leaves the setting 'xpack.security.transport.ssl.client_authentication'"
        " without a value (line 7, column 52): Elasticsearch refuses to start on it "
        "(\"null-valued setting found for key [xpack.security.transport.ssl."
        "client_authentication]\")", "each setting with a value"),
    "bundle-yml-null-in-a-list": ("has a list holding a map, a list or null (line 4, column 3)",),
    "configmap-yml-key-twice-in-one-map": (
        "data[elasticsearch.yml]: elasticsearch.yml has the key "
        "'xpack.security.transport.ssl.client_authentication' twice in one map (line 8, "
        "column 1): Elasticsearch refuses to start on it", "Duplicate field",
        "each key once in a map"),
    "configmap-yml-boolean-key-is-its-text": (
        "transport.profiles.on.xpack.security.ssl.client_authentication is 'none' (transport "
        "profile 'on'",),
    "bundle-key-mode-384": ("key file files[certs/node.key] has mode 384, not a 4-digit octal "
                            'string such as "0600"', "0o600", "Fix: write key files"),
    "bundle-key-mode-list": ("has mode ['0600'], not a 4-digit octal string",),
    "bundle-named-key-mode-384": ("(named by xpack.security.transport.ssl.key)",),
    "secret-yml-a-scalar": ("data[elasticsearch.yml]: elasticsearch.yml is a YAML scalar",),
    "provided-ca-extensions-malformed": ("has extensions that cannot be parsed",
                                         "neither basicConstraints CA:true nor keyUsage"),
    "provided-ca-extension-duplicated": ("has extensions that cannot be parsed",),
    "provided-public-root-extensions-malformed": ("is a public root CA", "[INV-CA-DEDICATED]",
                                                  "has extensions that cannot be parsed"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_resource(analyzer: PolicyAnalyzer, case: str) -> None:
    record, expected = CASES[case]
    diagnostics = analyzer.analyze(record, timeout=DEADLINE_S)
    assert verdicts(diagnostics) == expected, [d.message for d in diagnostics]
    for text in NAMED.get(case, ()):
        assert any(text in d.message for d in diagnostics), [d.message for d in diagnostics]


COMPONENT = f.record("acme:index:Cluster", "logging", {})


def _eck_pod(volume_name: Any = "transport-pki-certs", mount_name: Any = "transport-pki-certs",
             ) -> list[Record]:
    """ECK per-node delivery whose pod template names its volume and mount as given."""
    material = pki("es")
    *objects, es = eck_per_node("es", material)
    spec = copy.deepcopy(dict(es.properties)["spec"])
    pod = spec["nodeSets"][0]["podTemplate"]["spec"]
    pod["volumes"][0]["name"] = volume_name
    pod["containers"][0]["volumeMounts"][0]["name"] = mount_name
    return [*material.records, *objects,
            dataclasses.replace(es, properties={**es.properties, "spec": spec})]


def _eck_trusting(ca_pem: str) -> list[Record]:
    """ECK per-node delivery whose trust ConfigMap holds `ca_pem` as text."""
    material = pki("es")
    certs, trust, es = eck_per_node("es", material)
    trust = f.config_map(trust.name, {"ca.crt": ca_pem})
    return [*material.records, certs, trust, es]


def _expiring_ca(**props: Any) -> Record:
    """A CA certificate, as created (known outputs), that ends in ten days."""
    end = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f.ca_cert("ca", KEY, validityEndTime=end, **props)


# Stacks: (records, verdicts expected, what a message must say).
STACK_CASES: dict[str, tuple[list[Record], set[tuple[str, str]], tuple[str, ...]]] = {
    # A renewal window beyond timedelta's range holds every end time.
    "renewal-window-of-1e15-hours": ([KEY, _expiring_ca(earlyRenewalHours=1e15)],
                                     {("es-transport-renewal", A)}, ("1e+15 h window",)),
    # Not a number: the configured window (renewBeforeHours, 720).
    "renewal-window-not-a-number": ([KEY, _expiring_ca(earlyRenewalHours="1")],
                                    {("es-transport-renewal", A)}, ("720 h window",)),
    # A node certificate delivered for transport whose allowedUses is not a list.
    "transport-cert-uses-text": (
        [*(node := pki("a", allowedUses="digital_signature")).records, vm_bundle("a", node)],
        {("es-transport-leaf", M)},
        ("allowedUses is 'digital_signature', not a list of usages",)),
    # A node certificate delivered for transport whose isCaCertificate is not a boolean.
    "transport-cert-is-ca-text": (
        [*(text_ca := pki("a", isCaCertificate="false")).records, vm_bundle("a", text_ca)],
        {("es-transport-leaf", M)},
        ("isCaCertificate is 'false', not a boolean",)),
    # Parents that loop (the engine never sends them) made the topology walk up forever.
    "bundle-its-own-parent": (
        [*(own := pki("a")).records, dataclasses.replace(
            vm_bundle("a", own), parent=vm_bundle("a", own).urn)],
        set(), ()),
    "bundle-and-component-each-others-parent": (
        [*(looped := pki("a")).records,
         dataclasses.replace(vm_bundle("a", looped), parent=COMPONENT.urn),
         dataclasses.replace(COMPONENT, parent=vm_bundle("a", looped).urn)],
        set(), ()),
    # Pod volume and mount names that are not strings (the API server refuses them) name no
    # volume; they were put in a set, which failed the call.
    "eck-volume-named-by-a-list": (_eck_pod(volume_name=["transport-pki-certs"]), set(), ()),
    "eck-mount-named-by-a-map": (_eck_pod(mount_name={"name": "transport-pki-certs"}), set(),
                                 ()),
    # An ECK trust ConfigMap's CA whose extensions do not parse.
    "eck-trusts-a-ca-whose-extensions-are-malformed": (
        _eck_trusting(EXTENSIONS_MALFORMED), {("es-transport-ca-dedicated", M)},
        ("has extensions that cannot be parsed",)),
}


@pytest.mark.parametrize("case", sorted(STACK_CASES))
def test_malformed_stack(analyzer: PolicyAnalyzer, case: str) -> None:
    records, expected, named = STACK_CASES[case]
    diagnostics = analyzer.analyze_stack(records, timeout=DEADLINE_S)
    assert verdicts(diagnostics) == expected, [d.message for d in diagnostics]
    for text in named:
        assert any(text in d.message for d in diagnostics), [d.message for d in diagnostics]


STRING_ASSET = {SECRET_SIG_KEY: ASSET_SIG, "text": "P256"}
# Findings that quote a value the engine sent as an asset: repr's `<... object at 0x...>`
# made the same request's messages differ from call to call.
QUOTING_AN_ASSET: dict[str, tuple[Record, str]] = {
    "key-curve": (f.private_key("k", ecdsaCurve=STRING_ASSET), "curve <StringAsset>"),
    "leaf-uses-not-a-list": (leaf(allowedUses=STRING_ASSET), "allowedUses is <StringAsset>"),
    "eck-security-enabled": (
        f.elasticsearch("es", {"nodeSets": [{"config": {"xpack.security.enabled": [
            STRING_ASSET]}}]}), "xpack.security.enabled is [<StringAsset>]"),
    "eck-verification-mode": (
        f.elasticsearch("es", {"nodeSets": [{"config": {T + "verification_mode": [
            {"a": STRING_ASSET}]}}]}), "verification_mode is [{'a': <StringAsset>}]"),
}


@pytest.mark.parametrize("case", sorted(QUOTING_AN_ASSET))
def test_a_quoted_asset_reads_the_same_every_call(analyzer: PolicyAnalyzer, case: str) -> None:
    record, quoted = QUOTING_AN_ASSET[case]
    first = [d.message for d in analyzer.analyze(record, timeout=DEADLINE_S)]
    assert any(quoted in message for message in first), first
    assert [d.message for d in analyzer.analyze(record, timeout=DEADLINE_S)] == first
