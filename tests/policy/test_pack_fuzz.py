"""Property-based tests: the pack judges any resource shape a program may register, and never
fails doing so.

A hand-written program (not ours) can register anything under the types the pack looks at, and
a policy that raises turns the user's `pulumi preview` into an internal error instead of a
finding. pulumi-policy 1.21.0 (and the pack's own Analyze/AnalyzeStack, stack_request.py and
resource_request.py) lets any exception of a policy other than UnknownValueError fail the whole
gRPC call; an UnknownValueError becomes an advisory "can't run policy ... during preview" that
the pack promises never to cause (policy/README.md, "Unknown values"). Both count as failures
here, and so does a call that does not return within `DEADLINE_S` (a rule that loops).
Findings are welcome; each must be on a resource of the request and say what, why and how to
fix. And the same request twice gets the same diagnostics in the same order (determinism: the
pack caches per request and per text).

Resources start from the valid shapes of fixtures.py and scenarios.py and are mutated: any
nested value replaced (None, booleans, numbers incl. huge and negative, strings incl. broken
PEM and base64, lists, maps, assets), keys deleted or added, unknowns (every sentinel kind) and
secrets placed at any depth; the Elasticsearch settings inside elasticsearch.yml texts and ECK
configs are generated too; stacks mix good and mutated resources, with parents, dependencies
and property dependencies pointing at existing, missing or self URNs.

Not generated, because the engine never sends them: keys starting with `__` (the engine drops
internal keys, MarshalOptions.SkipInternalKeys), maps keyed by the engine's signature key other
than its own secrets and assets, resource references (downgraded to URNs for analyzers), and
non-finite numbers (not representable in Pulumi's JSON state; protobuf's json_format, which
pulumi-policy runs on every request, refuses NaN).

Certificates and keys are built deterministically (Ed25519 signatures, fixed dates, derived
keys), so that with `derandomize=True` every run sends the same bytes. The strategies weigh
what rules compare or parse (numbers at limits and past what a duration holds, certificates
that load but do not read, YAML that nests or aliases deeply, pod templates, parents), so that
a few hundred examples reach it: each defect tests/policy/test_malformed_inputs.py records was
found again by these properties with its fix undone.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from pulumi_policy import proxy
from pulumi_policy.deserialize import SPECIAL_ARCHIVE_SIG as ARCHIVE_SIG
from pulumi_policy.deserialize import SPECIAL_ASSET_SIG as ASSET_SIG

from harness.analyzer import (
    SECRET_SIG,
    SECRET_SIG_KEY,
    UNKNOWN,
    Diagnostic,
    PolicyAnalyzer,
    Record,
    secret,
)
from tests.x509_factory import der_of, pem_of

from . import fixtures as f
from . import pems
from .scenarios import eck_ca_to_eck, eck_per_node, pki, vm_bundle

# Hypothesis caches (unicode tables, constants) outside the work tree: no .hypothesis there.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "es-transport-pki-hypothesis")
DEADLINE_S = 5.0  # calls take milliseconds; one that loops fails in this time
FUZZ = settings(
    derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
T, H, P = f.TRANSPORT, "xpack.security.http.ssl.", "transport.profiles."
SENTINELS = (
    proxy.UNKNOWN_STRING_VALUE, proxy.UNKNOWN_BOOLEAN_VALUE, proxy.UNKNOWN_NUMBER_VALUE,
    proxy.UNKNOWN_ARRAY_VALUE, proxy.UNKNOWN_OBJECT_VALUE, proxy.UNKNOWN_ASSET_VALUE,
    proxy.UNKNOWN_ARCHIVE_VALUE,
)

# ----------------------------------------------------------------------------- PEM material

_START = datetime(2024, 1, 1, tzinfo=UTC)


def _cert(
    name: str, *, ca: bool, until: datetime, ekus: Sequence[x509.ObjectIdentifier] = ()
) -> str:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(name.encode().ljust(32, b"k")[:32])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(len(name) + 1).not_valid_before(_START).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(x509.KeyUsage(
            digital_signature=not ca, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
            encipher_only=False, decipher_only=False), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"{name}.example")]), False)
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), False)
    return builder.sign(key, None).public_bytes(serialization.Encoding.PEM).decode()


def _key(seed: int) -> str:
    key = ec.derive_private_key(seed, ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


CA_PEM = _cert("fuzz-ca", ca=True, until=datetime(2124, 1, 1, tzinfo=UTC))
OTHER_CA_PEM = _cert("fuzz-other-ca", ca=True, until=datetime(2124, 1, 1, tzinfo=UTC))
EXPIRED_CA_PEM = _cert("fuzz-expired", ca=True, until=datetime(2024, 2, 1, tzinfo=UTC))
LEAF_PEM = _cert("fuzz-node", ca=False, until=datetime(2124, 1, 1, tzinfo=UTC),
                 ekus=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH))
SERVER_ONLY_PEM = _cert("fuzz-http", ca=False, until=datetime(2124, 1, 1, tzinfo=UTC),
                        ekus=(ExtendedKeyUsageOID.SERVER_AUTH,))
KEY_PEM, OTHER_KEY_PEM = _key(7), _key(11)
CERT_PEMS = (CA_PEM, OTHER_CA_PEM, EXPIRED_CA_PEM, LEAF_PEM, SERVER_ONLY_PEM, pems.public_root())
PEMS = (*CERT_PEMS, KEY_PEM, OTHER_KEY_PEM)


ED25519_OID = "06032b6570"


def _broken_parts(pem: str) -> list[str]:
    """`pem` with one part cryptography reads only when asked made unreadable: an extension
    (basicConstraints a SET), two basicConstraints, the key (Ed25519's OID, the second of
    three, made an unknown one), the subject (invalid UTF-8; the issuer's name comes first);
    and with an invalid version, which fails at load."""
    label, der = der_of(pem)
    broken = [pems.broken_basic_constraints(der), pems.duplicated_extension(der),
              pems.invalid_version(der)]
    if der.count(bytes.fromhex(ED25519_OID)) == 3:  # signature algorithm, key, signature
        broken.append(pems.patched(der, ED25519_OID, "06032b657f", nth=1))
    cn = x509.load_der_x509_certificate(der).subject.rfc4514_string().removeprefix("CN=")
    name = bytes([0x0C, len(cn)]) + cn.encode()  # a UTF8String
    if der.count(name) == 2:
        broken.append(pems.patched(der, name.hex(), (name[:2] + b"\xff" + name[3:]).hex(), 1))
    return [pem_of(label, b) for b in broken]


BROKEN_PARTS = tuple(p for pem in CERT_PEMS for p in _broken_parts(pem))
utf8_text = st.text(st.characters(codec="utf-8"), max_size=24)  # protobuf strings
odd_text = st.sampled_from([
    "", " ", "\x00", "\ufeff", "\ufffd\ufffd", "Ã©Ã¨Ã", "é", "\u202e", "\t", "\n", "true", "false",
    "True", "none", "optional", "required", "full", "certificate", "0600", "0644", "0400", "600",
    "-1", "1e400", "NaN", "null", "~", "*", "[", "{", "---", "a: [", "&a [*a]", "2024-01-01",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "2030-01-01T00:00:00", "P256", "p256",
    "RSA", "rsa", "ECDSA", "ED25519", "P224", "/", ".", "..", "certs/node.key", "/etc/x.crt",
    "urn:pulumi:test::es-transport-pki::x::y", "::", "a$b::c",
])


@st.composite
def pem_texts(draw: st.DrawFn) -> str:
    """A PEM text: valid, truncated, with junk around it, several blocks, a corrupt DER or body,
    a mismatched or odd label."""
    pem = draw(st.sampled_from(PEMS))
    label, der = der_of(pem)
    kind = draw(st.sampled_from([  # certificates that load but do not read: the most likely
        "valid", "valid", "broken-part", "broken-part", "broken-part", "broken-part", "flipped",
        "flipped", "flipped", "truncated", "trailing", "leading", "two", "cut-der", "grown-der",
        "not-base64", "empty", "label",
    ]))
    junk = draw(utf8_text | odd_text)
    if kind == "truncated":
        return pem[: draw(st.integers(0, len(pem)))]
    if kind == "trailing":
        return pem + junk
    if kind == "leading":
        return junk + pem
    if kind == "two":
        return pem + draw(st.sampled_from(PEMS))
    if kind == "flipped":
        edits = draw(st.lists(st.tuples(st.integers(0, len(der) - 1), st.integers(0, 255)),
                              min_size=1, max_size=3))
        mutable = bytearray(der)
        for index, byte in edits:
            mutable[index] = byte
        return pem_of(label, bytes(mutable))
    if kind == "broken-part":
        return draw(st.sampled_from(BROKEN_PARTS))
    if kind == "cut-der":
        return pem_of(label, der[: draw(st.integers(0, len(der) - 1))])
    if kind == "grown-der":
        return pem_of(label, der + draw(st.binary(min_size=1, max_size=8)))
    if kind == "not-base64":
        return pem_of(label, draw(st.sampled_from(["!!!!", "é" * 8, "AAAA====AAAA", junk])))
    if kind == "empty":
        return pem_of(label, b"")
    if kind == "label":
        other = draw(st.sampled_from(["CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY",
                                      "RSA PRIVATE KEY", "X509 CRL", "", "certificate"]))
        return pem.replace(f"BEGIN {label}", f"BEGIN {other}", 1)
    return pem


PEM_TEXTS = pem_texts()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


base64_texts = st.one_of(
    st.builds(b64, utf8_text | st.sampled_from(PEMS)),
    st.binary(max_size=24).map(lambda raw: base64.b64encode(raw).decode()),  # not UTF-8
    st.sampled_from(["!!notbase64", "é", "QUJD", "QUJD=", "QU JD", "QUJD\n", "====", "Zm9v\u00e9"]),
)

# ----------------------------------------------------------------------------- values

# Limits and their neighbours, and magnitudes past what durations and C ints hold.
EDGE_NUMBERS = (0, -1, 1, 23, 24, 720, 1023, 2048, 8760, 19801, 87601, 0.5, 5e-324, 2**31,
                1e12, 2**53 + 1, 1e15, 2**63, 1e300, -1e15, -1e300)
numbers = st.one_of(  # the edges as likely as all the rest
    st.sampled_from(EDGE_NUMBERS), st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from(EDGE_NUMBERS), st.floats(allow_nan=False, allow_infinity=False),
)
assets = st.one_of(
    st.builds(lambda k, v: {SECRET_SIG_KEY: ASSET_SIG, k: v},
              st.sampled_from(["text", "path", "uri"]), utf8_text),
    st.builds(lambda v: {SECRET_SIG_KEY: ARCHIVE_SIG, "assets": {
        "a": {SECRET_SIG_KEY: ASSET_SIG, "text": v}}}, utf8_text),
    st.builds(lambda k, v: {SECRET_SIG_KEY: ARCHIVE_SIG, k: v},
              st.sampled_from(["path", "uri"]), utf8_text),
)
scalars = st.one_of(
    st.none(), st.booleans(), numbers, utf8_text, odd_text, PEM_TEXTS, base64_texts,
    st.sampled_from(SENTINELS), assets,
)
KEYS = (
    "data", "stringData", "binaryData", "files", "httpFiles", "content", "mode", "spec",
    "nodeSets", "config", "metadata", "name", "namespace", "elasticsearch.yml", "ca.crt",
    "ca.key", "tls.key", "tls.crt", "cluster", "transport", "tls", "certificate", "secretName",
    "certificateAuthorities", "configMapName", "podTemplate", "volumes", "volumeMounts",
    "containers", "mountPath", "secret", "configMap", "http", "algorithm", "rsaBits",
    "ecdsaCurve", "allowedUses", "isCaCertificate", "validityPeriodHours", "earlyRenewalHours",
    "maxPathLength", "caCertPem", "certPem", "privateKeyPem", "privateKeyPemPkcs8",
    "caPrivateKeyPem", "certRequestPem", "validityEndTime", "directory", "xpack", "security",
    "enabled", "cluster.name", T + "key", T + "client_authentication",
    T + "verification_mode", "value", "",
)
keys = st.one_of(st.sampled_from(KEYS), utf8_text).filter(
    lambda k: not k.startswith("__") and k != SECRET_SIG_KEY)


values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(keys, inner, max_size=3),
        inner.map(secret),
    ),
    max_leaves=6,
)

# ----------------------------------------------------------------------------- settings

SETTINGS = (
    T + "enabled", T + "verification_mode", T + "client_authentication", T + "key",
    T + "certificate", T + "certificate_authorities", T + "keystore.path", T + "truststore.path",
    H + "key", H + "certificate", H + "certificate_authorities", H + "keystore.path",
    "xpack.security.enabled", "cluster.name", P + "client.port",
    P + "client.xpack.security.ssl.client_authentication",
    P + "client.xpack.security.ssl.verification_mode",
    P + "client.xpack.security.ssl.certificate_authorities", P + "client.xpack.security.ssl.key",
    P + "default.xpack.security.ssl.key", P + ".xpack.security.ssl.key", "xpack", "transport",
    "xpack.security", T.rstrip("."), "http.port",
)
FILES = ("certs/node.key", "certs/node.crt", "certs/ca.crt", "certs/http.key", "certs/http.crt",
         "certs/transport.p12", "elasticsearch.yml", f.MOUNT + "/${POD_NAME}.tls.key",
         f.MOUNT + "/${POD_NAME}.tls.crt", f.MOUNT + "/ca.crt", "/", "")
file_paths = st.one_of(st.sampled_from(FILES), utf8_text)
setting_values = st.one_of(
    file_paths, st.lists(file_paths, max_size=3), scalars,
    st.dictionaries(keys, scalars, max_size=2),
)
settings_maps = st.dictionaries(st.sampled_from(SETTINGS) | keys, setting_values, max_size=6)


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys as nested maps (Elasticsearch reads both), where they do not collide."""
    result: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        here = result
        for part in parents:
            child = here.setdefault(part, {})
            if not isinstance(child, dict):
                break
            here = child
        else:
            here.setdefault(last, value)
    return result


def _yaml(settings_map: Mapping[str, Any]) -> str:
    try:
        return yaml.safe_dump(dict(settings_map), allow_unicode=True)
    except yaml.YAMLError:  # a value YAML cannot represent
        return ""


ODD_YAML = (
    "- a\n- b\n", "a: [\n", "? [a]\n: b\n", "\tx: 1\n", "a: 1\na: 2\n", "x: &a [*a]\n",
    "cluster.name: 2024-01-01\n", "cluster.name: yes\n", "cluster.name: ~\n",
    "cluster.name: [a, b]\n", "cluster.name: {a: b}\n", "!!python/object:os.system {}\n",
    "a: !!binary aGVsbG8=\n", "~: 1\n", "1: 2\n", "%YAML 1.2\n---\na: 1\n", "--- 1\n--- 2\n",
    "[" * 200 + "]" * 200,
    "xpack.security.transport.ssl: {client_authentication: none, verification_mode: none}\n",
    "xpack.security.transport.ssl.certificate_authorities: certs/ca.crt\n",
)
# Maps YAML builds beyond what a recursive reader survives: holding themselves, nested near
# libyaml's limit of 1000, or 2**n settings of n aliases (read as Elasticsearch reads them: an
# alias is the text of its anchor's name).
DEEP_YAML = (
    "x: &a {b: *a}\n", "a: &a\n  b: *a\n", "{a: " * 995 + "1" + "}" * 995,
    "a:\n" + "".join("  " * i + f"b{i}:\n" for i in range(1, 990)) + "  " * 990 + "c: 1\n",
    "a0: &a0 {x: 1, y: 2}\n"
    + "".join(f"a{i}: &a{i} {{p: *a{i - 1}, q: *a{i - 1}}}\n" for i in range(1, 15)),
)
yml_texts = st.one_of(
    settings_maps.map(_yaml), settings_maps.map(_nested).map(_yaml),
    st.sampled_from(ODD_YAML), st.sampled_from(DEEP_YAML), utf8_text,
)
eck_configs = st.one_of(settings_maps, settings_maps.map(_nested), values)

# ----------------------------------------------------------------------------- mutations


def _signed(value: Any) -> bool:
    """A secret or an asset/archive in the engine's encoding: only a secret's `value` may be
    edited (and not deleted); anything else would be an encoding the engine never sends."""
    return isinstance(value, dict) and SECRET_SIG_KEY in value


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON-like value, the root included, containers before their items."""
    yield at
    if _signed(value):
        if value[SECRET_SIG_KEY] == SECRET_SIG:
            yield from _paths(value["value"], (*at, "value"))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*at, index))


def _get(value: Any, at: tuple[Any, ...]) -> Any:
    for step in at:
        value = value[step]
    return value


@st.composite
def mutated(draw: st.DrawFn, props: Mapping[str, Any], max_edits: int = 4) -> dict[str, Any]:
    """`props` with a few edits: a value replaced, unknown or made secret, a key deleted or
    added, a list item appended."""
    result = copy.deepcopy(dict(props))
    for _ in range(draw(st.integers(0, max_edits))):
        places = [p for p in _paths(result) if p]
        edit = draw(st.sampled_from(["replace", "unknown", "secret", "delete", "add"]))
        if edit == "add" or not places:
            where = draw(st.sampled_from([(), *places]))
            container = _get(result, where)
            if _signed(container):
                continue
            if isinstance(container, dict):
                container[draw(keys)] = draw(values)
            elif isinstance(container, list):
                container.append(draw(values))
            continue
        where = draw(st.sampled_from(places))
        parent, last = _get(result, where[:-1]), where[-1]
        if edit == "delete" and not _signed(parent):
            del parent[last]
        elif edit == "unknown":
            parent[last] = draw(st.sampled_from(SENTINELS))
        elif edit == "secret":
            parent[last] = secret(parent[last])
        else:
            parent[last] = draw(values)
    return result


# ----------------------------------------------------------------------------- resources

USES = ("digital_signature", "key_encipherment", "cert_signing", "crl_signing", "server_auth",
        "client_auth", "any_extended", "code_signing", "", "SERVER_AUTH")
times = st.one_of(
    st.sampled_from(["2124-01-01T00:00:00Z", "2000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                     "0001-01-01T00:00:00+14:00", "0001-01-01", "2030-01-01T00:00:00",
                     "9999-12-31T23:59:59-23:59", "yesterday"]),
    st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()),
)
# The pulumi-tls inputs and outputs the rules read, and values of each one's own kind, edges
# included, that `retouched` gives them (or any value at all).
TLS_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "algorithm": st.sampled_from(["RSA", "ECDSA", "ED25519", "rsa", "DSA"]),
    "rsaBits": numbers,
    "ecdsaCurve": st.sampled_from(["P224", "P256", "P384", "P521", "p256", ""]),
    "isCaCertificate": st.booleans(),
    "allowedUses": st.lists(st.sampled_from(USES) | scalars, max_size=4),
    "validityPeriodHours": numbers,
    "earlyRenewalHours": numbers,
    "maxPathLength": numbers,
    "caCertPem": PEM_TEXTS,
    "caPrivateKeyPem": PEM_TEXTS,
    "certPem": PEM_TEXTS,
    "privateKeyPem": PEM_TEXTS,
    "validityEndTime": times,
}


def _own_kind_first(fields: Mapping[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Each field's values: of its own kind (twice as likely), or any value."""
    return {name: st.one_of(kind, kind, values) for name, kind in fields.items()}


TLS_VALUES = _own_kind_first(TLS_FIELDS)
ES_VALUES = {"transport": values, "http": values}
BUNDLE_VALUES = _own_kind_first({"cluster": utf8_text, "files": values, "httpFiles": values})


@st.composite
def retouched(draw: st.DrawFn, props: Mapping[str, Any],
              fields: Mapping[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """`props` with about half of `fields` given a value drawn from its strategy."""
    result = dict(props)
    for name, strategy in fields.items():
        if draw(st.booleans()):
            result[name] = draw(strategy)
    return result


def _tls_records() -> list[Record]:
    material = pki("fz")
    literal = f.node_cert("fz-literal", material.request, None, None, caCertPem=CA_PEM,
                          caPrivateKeyPem=KEY_PEM)
    rsa = f.record(f.KEY, "fz-rsa", {"algorithm": "RSA", "rsaBits": 2048})
    return [*material.records, literal, rsa]


@cache
def _outputs() -> dict[str, dict[str, Any]]:
    """What AnalyzeStack sees of a created pulumi-tls resource: its known outputs."""
    end = "2124-01-01T00:00:00Z"
    return {
        f.KEY: {"privateKeyPem": KEY_PEM, "privateKeyPemPkcs8": KEY_PEM,
                "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"},
        f.SELF_SIGNED: {"certPem": CA_PEM, "validityEndTime": end, "readyForRenewal": False},
        f.LOCALLY_SIGNED: {"certPem": LEAF_PEM, "validityEndTime": end},
        f.CSR: {"certRequestPem": UNKNOWN},
    }


data_maps = st.dictionaries(
    st.sampled_from(["elasticsearch.yml", "ca.crt", "ca.key", "tls.key", "tls.crt",
                     "pod-0.tls.key"]) | keys,
    st.one_of(yml_texts, PEM_TEXTS, utf8_text, st.sampled_from(SENTINELS)), max_size=4)
volume_names = st.one_of(st.sampled_from(["transport-pki-certs", "other", ""]), values,
                         st.lists(scalars, max_size=2), st.dictionaries(keys, scalars, max_size=2))
mount_paths = st.sampled_from([f.MOUNT, f.MOUNT + "/", "/", "", "/usr/share"]) | values
object_names = st.sampled_from(["fz-es-transport-pki-certs", "fz-es-transport-pki-ca",
                                "es-b-transport-pki-certs", "es-b-http", ""]) | values
volumes = st.fixed_dictionaries({"name": volume_names}, optional={
    "secret": st.fixed_dictionaries({"secretName": object_names}) | values,
    "configMap": st.fixed_dictionaries({"name": object_names}) | values,
})
mounts = st.fixed_dictionaries({"name": volume_names, "mountPath": mount_paths})
containers = st.fixed_dictionaries({"name": st.just("elasticsearch"), "volumeMounts": st.lists(
    st.one_of(mounts, mounts, values), max_size=2)})
bundle_files = st.dictionaries(file_paths, st.fixed_dictionaries({
    "content": PEM_TEXTS | yml_texts | st.just(UNKNOWN),
    "mode": st.sampled_from(["0600", "0644", "0400", "0640", "600", "", UNKNOWN]) | values,
}) | values, max_size=3)
http_contents = PEM_TEXTS | st.just(UNKNOWN)
base64_maps = st.dictionaries(keys, base64_texts, max_size=3)
pod_templates = st.one_of(st.fixed_dictionaries({"spec": st.fixed_dictionaries({
    "volumes": st.lists(st.one_of(volumes, volumes, values), min_size=1, max_size=2),
    "containers": st.lists(st.one_of(containers, containers, values), max_size=2),
})}), values)


@st.composite
def retouched_record(draw: st.DrawFn, record: Record) -> Record:
    """`record` with the inputs its type's rules read replaced, structure-aware: numbers,
    PEM texts, settings documents, data maps, files, pod templates."""
    props = dict(record.properties)
    if record.type in _outputs() and draw(st.booleans()):
        props.update(_outputs()[record.type])
    if record.type in (f.KEY, f.SELF_SIGNED, f.LOCALLY_SIGNED, f.CSR):
        props = draw(retouched(props, TLS_VALUES))
    elif record.type in (f.SECRET, f.CONFIG_MAP):
        data = draw(data_maps)
        if draw(st.booleans()):
            data["elasticsearch.yml"] = draw(yml_texts)
        plain_field, encoded_field = (("stringData", "data") if record.type == f.SECRET
                                      else ("data", "binaryData"))
        field = draw(st.sampled_from([plain_field, encoded_field]))
        props[field] = {k: b64(v) if field == encoded_field and isinstance(v, str)
                        and v not in SENTINELS else v for k, v in data.items()}
        if draw(st.booleans()):
            props[draw(st.sampled_from(["data", "binaryData"]))] = draw(base64_maps)
    elif record.type == f.ELASTICSEARCH and isinstance(props.get("spec"), dict):
        spec = copy.deepcopy(props["spec"])
        for node_set in spec.get("nodeSets", []) if isinstance(spec.get("nodeSets"), list) else []:
            if not isinstance(node_set, dict):
                continue
            config, given = draw(eck_configs), node_set.get("config")
            if isinstance(config, dict) and isinstance(given, dict) and draw(st.booleans()):
                config = {**given, **config}  # the valid settings, some overridden or added
            node_set["config"] = config
            if draw(st.integers(0, 3)):
                node_set["podTemplate"] = draw(pod_templates)
        props["spec"] = draw(retouched(spec, ES_VALUES))
    elif record.type == f.BUNDLE:
        given = props.get("files")
        files = copy.deepcopy(given) if isinstance(given, dict) else {}
        if draw(st.booleans()):
            files["elasticsearch.yml"] = {"content": draw(yml_texts), "mode": "0644"}
        if draw(st.booleans()):
            files["certs/ca.crt"] = {"content": draw(PEM_TEXTS), "mode": "0644"}
        files.update(draw(bundle_files))
        props["files"] = files
        if draw(st.booleans()):
            props["httpFiles"] = {"certs/http.crt": {
                "content": draw(http_contents), "mode": "0644"}}
        props = draw(retouched(props, BUNDLE_VALUES))
    return dataclasses.replace(record, properties=props)


def _base_records() -> list[Record]:
    material = pki("fz")
    http = f.secret("fz-http", {"tls.crt": UNKNOWN})
    return [
        *_tls_records(),
        f.secret("fz-secret", {"elasticsearch.yml": f.yml(f.good_vm_settings())}),
        f.config_map("fz-config", {"ca.crt": CA_PEM}),
        eck_per_node("fz-es", material)[-1], eck_per_node("fz-es", material, http)[-1],
        eck_ca_to_eck("fz-es", material.ca_key, material.ca)[-1],
        vm_bundle("fz", material),
    ]


BASE_RECORDS = _base_records()
TYPES = (f.KEY, f.SELF_SIGNED, f.LOCALLY_SIGNED, f.CSR, f.SECRET, f.CONFIG_MAP, f.ELASTICSEARCH,
         f.BUNDLE, "kubernetes:elasticsearch.k8s.elastic.co/v1beta1:Elasticsearch",
         "pulumi-python:dynamic:Resource", "pulumi:pulumi:Stack", "pulumi:providers:tls")


@st.composite
def mutated_records(draw: st.DrawFn) -> Record:
    """One resource of a type the pack judges, retouched and mutated; its options too."""
    record = draw(retouched_record(draw(st.sampled_from(BASE_RECORDS))))
    if draw(st.integers(0, 9)) == 0:  # another type's properties
        record = dataclasses.replace(record, type=draw(st.sampled_from(TYPES)))
    return dataclasses.replace(
        record, properties=draw(mutated(record.properties)),
        protect=draw(st.booleans()),
        parent=draw(st.sampled_from(["", record.urn, f.urn("acme:index:Component", "c")])),
    )


# ----------------------------------------------------------------------------- stacks

def _scenario_records() -> list[list[Record]]:
    a, b = pki("a"), pki("b")
    shared = pki("c", ca=(a.ca_key, a.ca))
    http = pki("h")
    http_secret = f.secret("es-b-http", {"tls.crt": UNKNOWN, "tls.key": UNKNOWN},
                           [http.node_key, http.cert])
    trust = f.config_map("literal-trust", {"ca.crt": CA_PEM + OTHER_CA_PEM})
    yml_secret = f.secret("yml", {"elasticsearch.yml": f.yml(f.good_vm_settings(**{
        "cluster.name": "logs"}))}, [b.node_key, b.cert])
    return [
        [*a.records, vm_bundle("a", a)],
        [*b.records, *eck_per_node("es-b", b, http_secret), *http.records, http_secret],
        [*a.records, *shared.records[2:], vm_bundle("a", a), vm_bundle("c", shared)],
        [*a.records, *eck_ca_to_eck("es-a", a.ca_key, a.ca)],
        [*b.records, yml_secret, trust],
    ]


SCENARIOS = [*_scenario_records(), []]
MISSING = f.urn("tls:index/privateKey:PrivateKey", "missing")
STACK_ROOT = f.urn("pulumi:pulumi:Stack", "es-transport-pki-test")


@st.composite
def links(draw: st.DrawFn, urns: Sequence[str], own: str) -> list[str]:
    return draw(st.lists(st.sampled_from([*urns, own, MISSING, "", "not a urn"]), max_size=3))


@st.composite
def stacks(draw: st.DrawFn) -> list[Record]:
    """A deployment of the program's shapes, about half its resources retouched and mutated
    (properties, outputs, links, options), and a few mutated stand-alone resources added."""
    records = [
        # Created resources have outputs (an update's AnalyzeStack), others only inputs.
        dataclasses.replace(r, properties={**r.properties, **_outputs()[r.type]})
        if r.type in _outputs() and draw(st.booleans()) else r
        for r in draw(st.sampled_from(SCENARIOS))
    ]
    records += draw(st.lists(mutated_records(), max_size=3))
    urns = [r.urn for r in records]
    for index in [i for i in range(len(records)) if draw(st.booleans())]:
        record = draw(retouched_record(records[index]))
        props = record.properties
        deps = {k: list(v) for k, v in record.property_dependencies.items()}
        if draw(st.booleans()):
            deps[draw(st.sampled_from([*props, *deps, "files", "data"]) | keys)] = draw(
                links(urns, record.urn))
        records[index] = dataclasses.replace(
            record, properties=draw(mutated(props, max_edits=2)),
            dependencies=[*record.dependencies, *draw(links(urns, record.urn))],
            property_dependencies=deps,
            parent=draw(st.one_of(st.sampled_from(["", STACK_ROOT, record.urn, MISSING]),
                                  st.sampled_from(urns))),
            protect=draw(st.booleans()),
        )
    if draw(st.booleans()):
        records.append(f.record("pulumi:pulumi:Stack", "es-transport-pki-test", {}))
    if records and draw(st.integers(0, 4)) == 0:
        # A resource under another's URN (the request then holds it twice), or one whose URN,
        # name or type is not what the engine makes of them.
        index = draw(st.integers(0, len(records) - 1))
        records[index] = dataclasses.replace(
            records[index],
            urn=draw(st.sampled_from([*urns, "", "not a urn", "urn:pulumi:dev::p::t::n"])),
            name=draw(st.sampled_from(["", "n", "a::b"])),
            type=draw(st.sampled_from([records[index].type, *TYPES])),
        )
    return records


# ----------------------------------------------------------------------------- properties

Call = Callable[[], list[Diagnostic]]


def _judged(analyzer: PolicyAnalyzer, call: Call, urns: set[str]) -> list[tuple[str, ...]]:
    """The call's diagnostics, asserting the pack answered as a pack must: no gRPC error, no
    policy reporting that it could not run, every finding on a resource of the request and
    saying what, why and how."""
    try:
        diagnostics = call()
    except grpc.RpcError as error:
        code, details = error.code(), error.details()
        raise AssertionError(
            f"the pack failed the call: {code}: {details}\n{analyzer.stderr()[-3000:]}"
        ) from None
    for diagnostic in diagnostics:
        assert not diagnostic.message.startswith("can't run policy"), diagnostic.message
        assert diagnostic.urn in urns, (diagnostic.urn, diagnostic.message)
        assert "\nWhy: " in diagnostic.message and "\nFix: " in diagnostic.message, (
            diagnostic.message)
    return [(d.policy_name, d.enforcement_level, d.urn, d.message) for d in diagnostics]


def _analyze(analyzer: PolicyAnalyzer, record: Record) -> Call:
    return lambda: analyzer.analyze(record, timeout=DEADLINE_S)


def _analyze_stack(analyzer: PolicyAnalyzer, records: Sequence[Record]) -> Call:
    return lambda: analyzer.analyze_stack(records, timeout=DEADLINE_S)


@settings(FUZZ, max_examples=400)
@given(record=mutated_records())
def test_analyze_judges_any_resource_shape(analyzer: PolicyAnalyzer, record: Record) -> None:
    first = _judged(analyzer, _analyze(analyzer, record), {record.urn})
    # Deterministic: the same request gives the same diagnostics, in the same order (the pack
    # caches per request and per text; a cache must not change an answer).
    assert _judged(analyzer, _analyze(analyzer, record), {record.urn}) == first


@settings(FUZZ, max_examples=200)
@given(records=stacks())
def test_analyze_stack_judges_any_mixture(analyzer: PolicyAnalyzer, records: list[Record]) -> None:
    urns = {r.urn for r in records}
    first = _judged(analyzer, _analyze_stack(analyzer, records), urns)
    assert _judged(analyzer, _analyze_stack(analyzer, records), urns) == first


@settings(FUZZ, max_examples=60)
@given(records=stacks())
def test_preview_judges_any_mixture(analyzer: PolicyAnalyzer, records: list[Record]) -> None:
    """A preview's calls in order: Analyze for every resource, then AnalyzeStack."""
    urns = {r.urn for r in records}
    for record in records:
        _judged(analyzer, _analyze(analyzer, record), {record.urn})
    _judged(analyzer, _analyze_stack(analyzer, records), urns)


def test_the_properties_can_fail(analyzer: PolicyAnalyzer) -> None:
    """`_judged` is not vacuous: a failed call, a policy that could not run, a finding on a
    resource not in the request and a finding without why/fix are all caught."""
    records = SCENARIOS[0]  # the program's own shape: answered, no finding
    assert _judged(analyzer, _analyze_stack(analyzer, records), {r.urn for r in records}) == []
    # An encoding the engine never sends (a signature that is none): pulumi-policy raises.
    unsigned = f.record(f.KEY, "k", {"algorithm": {SECRET_SIG_KEY: "not a signature"}})
    with pytest.raises(AssertionError, match=r"failed the call: StatusCode\.UNKNOWN: .*signature"):
        _judged(analyzer, _analyze(analyzer, unsigned), {unsigned.urn})
    cannot_run = Diagnostic("p", "advisory", "can't run policy 'p' during preview", "", "")
    with pytest.raises(AssertionError, match="can't run policy"):
        _judged(analyzer, lambda: [cannot_run], {""})
    stray = Diagnostic("p", "mandatory", "d\n[INV-X] x\nWhy: y\nFix: z", "urn:other", "")
    with pytest.raises(AssertionError, match="urn:other"):
        _judged(analyzer, lambda: [stray], {"urn:mine"})
    bare = Diagnostic("p", "mandatory", "d\nsomething", "urn:mine", "")
    with pytest.raises(AssertionError, match="something"):
        _judged(analyzer, lambda: [bare], {"urn:mine"})
    assert _judged(analyzer, lambda: [dataclasses.replace(stray, urn="urn:mine")],
                   {"urn:mine"}) == [("p", "mandatory", "urn:mine", stray.message)]
