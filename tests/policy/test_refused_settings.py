"""es-transport-settings: transport SSL settings Elasticsearch refuses to start on.

Fixtures through Analyze (VM bundles' elasticsearch.yml, Secrets/ConfigMaps, ECK
`nodeSets[].config`; dotted and nested keys; named profiles; preview unknowns), then properties
of the rule called directly: every setting Elasticsearch knows, with a value it parses, passes
in every scope and form; a mode it cannot parse, or a name it does not know, is reported once.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from es_transport_policy.findings import Grade
from es_transport_policy.rules.refused import refused
from es_transport_policy.rules.transport import mtls, verify
from es_transport_policy.ssl_keys import MODES, PLAIN_PASSWORDS, SECURE, SETTINGS
from es_transport_policy.view import ResourceView
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from harness.analyzer import UNKNOWN, PolicyAnalyzer, Record

from . import fixtures as f
from .verdicts import verdicts

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "es-transport-pki-hypothesis")
PROPERTIES = settings(derandomize=True, database=None, deadline=None, max_examples=300)

T = f.TRANSPORT
P = "transport.profiles."
PS = "xpack.security.ssl."
M, A = "mandatory", "advisory"
S = ("es-transport-settings", M)
VERIFY_MODES = {"allowedVerificationModes": ["full", "certificate"]}


def es(config: object) -> Record:
    return f.elasticsearch("es", {"version": "9.1.0", "nodeSets": [{"name": "d", "count": 1,
                                                                  "config": config}]})


def vm(settings: dict[str, object]) -> Record:
    return f.bundle("b", {"elasticsearch.yml": (f.yml(f.good_vm_settings(**settings)), "0644")})


def vm_text(text: str) -> Record:
    return f.bundle("b", {"elasticsearch.yml": (f.yml(f.good_vm_settings()) + text, "0644")})


# Every setting Elasticsearch knows under a transport SSL prefix, with a value it takes, but
# the passwords (secure ones, and the deprecated plain-text ones: reported, INV-CUSTODY).
KNOWN_VALUES: dict[str, object] = {
    "enabled": True, "verification_mode": "certificate", "client_authentication": "required",
    "supported_protocols": ["TLSv1.3", "TLSv1.2"], "cipher_suites": ["TLS_AES_256_GCM_SHA384"],
    "certificate_authorities": ["certs/ca.crt"], "certificate": "certs/node.crt",
    "key": "certs/node.key", "keystore.path": "certs/t.p12",
    "keystore.type": "PKCS12", "keystore.algorithm": "SunX509", "truststore.path": "certs/t.p12",
    "truststore.type": "PKCS12", "truststore.algorithm": "PKIX",
    "trust_restrictions.path": "trust.yml",
    "trust_restrictions.x509_fields": ["subjectAltName.dnsName"], "handshake_timeout": "10s",
}

CASES: dict[str, tuple[Record, set[tuple[str, str]]]] = {
    # Modes as SslClientAuthenticationMode/SslVerificationMode.parse read them: lower-cased,
    # never trimmed; a YAML boolean reaches the parser as "true".
    "vm-client-auth-misspelled": (vm({T + "client_authentication": "requried"}), {S}),
    "vm-client-auth-upper-case": (vm({T + "client_authentication": "REQUIRED"}), set()),
    "vm-client-auth-padded-none": (vm({T + "client_authentication": " none"}), {S}),
    "vm-client-auth-mixed-case-optional": (vm({T + "client_authentication": "Optional"}),
                                           {("es-transport-mtls", M)}),
    "vm-verification-misspelled": (vm({T + "verification_mode": "fulll"}), {S}),
    "vm-verification-mixed-case": (vm({T + "verification_mode": "Certificate"}), set()),
    "vm-verification-padded": (vm({T + "verification_mode": "full "}), {S}),
    # Nested: another map than good_vm_settings' dotted key, so the later value holds.
    "vm-verification-yaml-boolean": (vm_text(
        "xpack: {security: {transport: {ssl: {verification_mode: yes}}}}\n"), {S}),
    "vm-verification-from-env": (vm({T + "verification_mode": "${MODE}"}),
                                 {("es-transport-verify", M)}),
    "vm-profile-client-auth-misspelled": (vm({P + "client." + PS + "client_authentication":
                                              "requird"}), {S}),
    "vm-profile-verification-nested-misspelled": (vm_text(
        "transport:\n  profiles:\n    client:\n      xpack.security.ssl:\n"
        "        verification_mode: ful\n"), {S}),
    "eck-client-auth-misspelled-dotted": (es({T + "client_authentication": "requred"}), {S}),
    "eck-client-auth-misspelled-nested": (es({"xpack": {"security": {"transport": {"ssl": {
        "client_authentication": "reqired"}}}}}), {S}),
    "eck-verification-a-number": (es({T + "verification_mode": 1}),
                                  {S, ("es-transport-verify-advisory", A)}),
    "eck-profile-verification-boolean": (es({P + "client." + PS + "verification_mode": False}),
                                         {S}),
    "eck-client-auth-unknown": (es({T + "client_authentication": UNKNOWN}), set()),
    # Unknown settings: "unknown setting [...]".
    "vm-unknown-setting-nested": (vm_text(
        "xpack:\n  security:\n    transport:\n      ssl:\n"
        "        certificate_authorites: [certs/ca.crt]\n"), {S}),
    "vm-unknown-setting-dotted": (vm({T + "verfication_mode": "full"}), {S}),
    "vm-profile-unknown-setting": (vm({P + "client." + PS + "cerificate": "certs/node.crt"}),
                                   {S}),
    "configmap-unknown-setting": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings(**{T + "keystore.pass": "x"}))}), {S}),
    "eck-unknown-setting": (es({T + "certificate_authority": "/etc/ca.crt"}), {S}),
    "eck-unknown-setting-nested-profile": (es({"transport": {"profiles": {"client": {
        "xpack": {"security": {"ssl": {"supported_protocol": ["TLSv1.3"]}}}}}}}), {S}),
    "eck-unknown-setting-unknown-value": (es({T + "certificate_authority": UNKNOWN}), set()),
    "eck-known-prefix-unknown-map": (es({"xpack.security.transport.ssl.keystore": UNKNOWN}),
                                     set()),
    "vm-key-with-env": (vm_text("xpack.security.transport.ssl.${TLS_SETTING}: x\n"), set()),
    "vm-every-known-setting": (vm({T + k: v for k, v in KNOWN_VALUES.items()}), set()),
    "vm-profile-every-known-setting": (vm({P + "client." + PS + k: v
                                           for k, v in KNOWN_VALUES.items()}), set()),
    "eck-every-known-setting-nested": (es({"xpack": {"security": {"transport": {"ssl": {
        k: v for k, v in KNOWN_VALUES.items() if k not in ("enabled", "verification_mode")}}}}}),
        set()),
    "eck-what-eck-renders": (es({T + "key": f.MOUNT + "/${POD_NAME}.tls.key",
                                 T + "certificate": f.MOUNT + "/${POD_NAME}.tls.crt",
                                 T + "client_authentication": "required"}), set()),
    # The default profile's SSL settings are es-transport-mtls's, misspelled or not.
    "vm-default-profile-misspelled": (vm({P + "default." + PS + "verfication_mode": "full"}),
                                      {("es-transport-mtls", M)}),
    # Secure settings: "must be stored inside the Elasticsearch keystore".
    "vm-secure-setting": (vm({T + "keystore.secure_password": "hunter2"}), {S}),
    "vm-profile-secure-setting": (vm({P + "client." + PS + "truststore.secure_password": "x"}),
                                  {S}),
    "secret-secure-setting": (f.secret("s", {"elasticsearch.yml": f.yml(f.good_vm_settings(
        **{T + "secure_key_passphrase": "x"}))}), {S}),
    "eck-secure-setting-nested": (es({"xpack": {"security": {"transport": {"ssl": {
        "keystore": {"secure_key_password": "x"}}}}}}), {S}),
    "eck-secure-setting-unknown": (es({T + "keystore.secure_password": UNKNOWN}), set()),
    # Deprecated plain-text passwords: Elasticsearch starts, the password is in the settings.
    "vm-plain-keystore-password": (vm({T + "keystore.password": "hunter2"}), {S}),
    "vm-profile-plain-key-passphrase": (vm({P + "client." + PS + "key_passphrase": "x"}), {S}),
    "configmap-plain-truststore-password": (f.config_map("c", {"elasticsearch.yml": f.yml(
        f.good_vm_settings(**{T + "truststore.password": "x"}))}), {S}),
    "eck-plain-key-password-nested": (es({"xpack": {"security": {"transport": {"ssl": {
        "keystore": {"key_password": "x"}}}}}}), {S}),
    "eck-plain-password-unknown": (es({T + "keystore.password": UNKNOWN}), set()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_settings(analyzer: PolicyAnalyzer, case: str) -> None:
    record, expected = CASES[case]
    diagnostics = analyzer.analyze(record)
    assert verdicts(diagnostics) == expected, [d.message for d in diagnostics]


# (record, what the one es-transport-settings message must say, what it must not)
NAMED: dict[str, tuple[Record, tuple[str, ...], tuple[str, ...]]] = {
    "client-auth-misspelled": (
        vm({T + "client_authentication": "requried"}),
        ("[INV-MTLS]", "files[elasticsearch.yml]: xpack.security.transport.ssl."
         "client_authentication is 'requried'", "refuses to start",
         "SslClientAuthenticationMode.parse", "recognised values [none,optional,required]",
         "'requried' is nearest to 'required'", "set xpack.security.transport.ssl."
         "client_authentication to required"), ()),
    "verification-misspelled-in-a-profile": (
        es({P + "client." + PS + "verification_mode": "fulll"}),
        ("[INV-VERIFY]", "spec.nodeSets[0].config: transport.profiles.client.xpack.security.ssl."
         "verification_mode is 'fulll' (transport profile 'client')", "SslVerificationMode.parse",
         "'fulll' is nearest to 'full'", "never none"), ("`none` accepts",)),
    "unknown-setting": (
        vm({T + "certificate_authorites": ["certs/ca.crt"]}),
        ("[INV-MTLS]", "xpack.security.transport.ssl.certificate_authorites is not a setting "
         "Elasticsearch knows", "unknown setting [xpack.security.transport.ssl."
         "certificate_authorites]", "rename it to xpack.security.transport.ssl."
         "certificate_authorities"), ()),
    "unknown-setting-nothing-near": (
        vm({P + "client." + PS + "zzz": "x"}),
        ("transport profile 'client'", "remove it; the settings under transport.profiles.client."
         "xpack.security.ssl. are certificate, certificate_authorities"), ()),
    "secure-setting-on-a-vm": (
        vm({T + "keystore.secure_password": "hunter2"}),
        ("[INV-CUSTODY]", "xpack.security.transport.ssl.keystore.secure_password is set",
         "must be stored inside the Elasticsearch keystore",
         "bin/elasticsearch-keystore add xpack.security.transport.ssl.keystore.secure_password"),
        ("hunter2",)),
    "secure-setting-under-eck": (
        es({T + "truststore.secure_password": "hunter2"}),
        ("[INV-CUSTODY]", "move it from nodeSets[].config to spec.secureSettings"),
        ("hunter2",)),
    "plain-password-on-a-vm": (
        vm({T + "keystore.password": "hunter2"}),
        ("[INV-CUSTODY]", "xpack.security.transport.ssl.keystore.password is a password in "
         "plain text (value withheld)", "deprecated", "remove it from elasticsearch.yml and give "
         "the same value as xpack.security.transport.ssl.keystore.secure_password in the "
         "keystore (bin/elasticsearch-keystore add xpack.security.transport.ssl.keystore."
         "secure_password)"), ("hunter2",)),
    "plain-passphrase-in-a-profile-under-eck": (
        es({P + "client." + PS + "key_passphrase": "hunter2"}),
        ("[INV-CUSTODY]", "(transport profile 'client')", "spec.secureSettings (a Secret whose "
         "key is transport.profiles.client.xpack.security.ssl.secure_key_passphrase"),
        ("hunter2",)),
}


@pytest.mark.parametrize("case", sorted(NAMED))
def test_finding_says_what_why_and_how(analyzer: PolicyAnalyzer, case: str) -> None:
    record, named, withheld = NAMED[case]
    (diagnostic,) = analyzer.analyze(record)
    assert diagnostic.policy_name == "es-transport-settings", diagnostic.message
    for text in named:
        assert text in diagnostic.message
    for text in withheld:
        assert text not in diagnostic.message
    assert "\nWhy: " in diagnostic.message and "\nFix: " in diagnostic.message


def test_the_settings_reference_agrees_with_the_pack() -> None:
    """Every setting ../shared/schemas/elasticsearch/transport-ssl-settings.json lists is one
    the pack knows (never reported as unknown), its secure ones are the pack's, and its modes
    are those Elasticsearch parses."""
    schema = json.loads((Path(__file__).resolve().parents[3] / "shared" / "schemas"
                         / "elasticsearch" / "transport-ssl-settings.json").read_text())
    names = {key.removeprefix(T): spec for key, spec in schema["settings"].items()}
    assert set(names) <= SETTINGS
    assert {n for n, spec in names.items() if spec.get("secure")} == SECURE
    assert {n: set(names[n]["enum"]) for n in MODES} == {n: set(m) for n, m in MODES.items()}


# ---------------------------------------------------------------------------- properties

def _view(settings_map: dict[str, Any], *, eck: bool, nested: bool) -> ResourceView:
    """One resource carrying `settings_map` (dotted keys): ECK config or a bundle's
    elasticsearch.yml, with dotted keys or as nested maps."""
    given: dict[str, Any] = settings_map
    if nested:
        given = {}
        for key, value in settings_map.items():
            *parents, last = key.split(".")
            at = given
            for part in parents:
                at = at.setdefault(part, {})
            at[last] = value
    if eck:
        record = es(given)
    else:
        record = f.bundle("b", {"elasticsearch.yml": (yaml.safe_dump(given), "0644")})
    return ResourceView(record.type, record.name, record.urn, dict(record.properties))


def _any_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True)))


profile_names = st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True).filter(lambda n: n != "default")
prefixes = st.one_of(st.just(T), profile_names.map(lambda n: f"{P}{n}.{PS}"))
forms = st.fixed_dictionaries({"eck": st.booleans(), "nested": st.booleans()})


def _valid(name: str) -> st.SearchStrategy[object]:
    if name in MODES:
        return st.sampled_from(MODES[name]).flatmap(_any_case)
    if name == "enabled":
        return st.booleans()
    texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                    max_size=12)
    return texts | st.lists(texts, min_size=1, max_size=3)


# The passwords are reported whatever their value (INV-CUSTODY).
PASSWORDLESS = sorted(SETTINGS - SECURE - set(PLAIN_PASSWORDS))
known = st.lists(st.sampled_from(PASSWORDLESS), min_size=1, max_size=6, unique=True).flatmap(
    lambda names: st.tuples(*[st.tuples(st.just(n), _valid(n)) for n in names]))


@PROPERTIES
@given(prefix=prefixes, pairs=known, form=forms)
def test_known_settings_with_values_elasticsearch_parses_pass(
    prefix: str, pairs: tuple[tuple[str, object], ...], form: dict[str, bool]
) -> None:
    view = _view({prefix + name: value for name, value in pairs}, **form)
    assert refused(view, {}) == []


mode_settings = st.sampled_from(sorted(MODES))
texts = st.text(st.sampled_from("fulcertiaxqdnopr ${}-_FULCERTIAXQDNOPR\t\u0130\u212a"),
                max_size=12)


@PROPERTIES
@given(prefix=prefixes, name=mode_settings, value=texts, form=forms)
def test_a_mode_is_judged_once_as_elasticsearch_parses_it(
    prefix: str, name: str, value: str, form: dict[str, bool]
) -> None:
    """Refused exactly when SslClientAuthenticationMode/SslVerificationMode.parse refuses it
    (Java's toLowerCase(Locale.ROOT) agrees with str.lower on these letters); `${VAR}` is left
    to startup. A refused mode is this policy's alone: es-transport-mtls and -verify judge
    only modes Elasticsearch parses."""
    key = prefix + name
    view = _view({key: value}, **form)
    findings = refused(view, {})
    parses = value.lower() in MODES[name] or "${" in value
    assert [x.what.split(": ", 1)[1].split(" is ")[0] for x in findings] == (
        [] if parses else [key])
    if not parses:
        others = [x for x in mtls(view, {}) + verify(view, VERIFY_MODES)
                  if key in x.what and x.grade is Grade.BLOCKING]
        assert others == [], [x.message for x in others]


@PROPERTIES
@given(prefix=prefixes, name=st.sampled_from(sorted(PLAIN_PASSWORDS)),
       value=st.from_regex(r"pw-[A-Za-z0-9]{6,12}", fullmatch=True), form=forms)
def test_a_plain_text_password_is_reported_withheld_with_its_secure_twin(
    prefix: str, name: str, value: str, form: dict[str, bool]
) -> None:
    view = _view({prefix + name: value}, **form)
    (finding,) = refused(view, {})
    assert finding.invariant == "INV-CUSTODY" and finding.grade is Grade.BLOCKING
    assert f"{prefix}{name} is a password in plain text" in finding.what
    assert PLAIN_PASSWORDS[name] in SECURE and prefix + PLAIN_PASSWORDS[name] in finding.fix
    assert "(value withheld)" in finding.what and value not in finding.message


unknown_names = st.from_regex(r"[a-z_]{1,12}(\.[a-z_]{1,12})?", fullmatch=True).filter(
    lambda n: n not in SETTINGS)


@PROPERTIES
@given(prefix=prefixes, name=unknown_names, form=forms)
def test_a_setting_elasticsearch_does_not_know_is_reported(
    prefix: str, name: str, form: dict[str, bool]
) -> None:
    view = _view({prefix + name: "x"}, **form)
    (finding,) = refused(view, {})
    assert f"{prefix}{name} is not a setting Elasticsearch knows" in finding.what
