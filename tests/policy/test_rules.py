"""Single rules and helpers, called directly (no process)."""

from __future__ import annotations

from datetime import date

from es_transport_policy.documents import settings_documents
from es_transport_policy.pem import ca_problems, certificates
from es_transport_policy.rules.transport import mtls
from es_transport_policy.settings_text import flatten
from es_transport_policy.values import UNKNOWN, plain
from es_transport_policy.view import ResourceView
from es_transport_policy.waivers import Waiver, find_waiver
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from . import fixtures as f
from . import pems


def test_dotted_and_nested_settings_flatten_alike() -> None:
    nested = {"xpack": {"security.transport": {"ssl": {"enabled": True}}}}
    assert flatten(nested) == {"xpack.security.transport.ssl.enabled": True}


def test_plain_marks_unknowns_instead_of_raising() -> None:
    proxied = unknown_checking_proxy({"a": UNKNOWN_STRING_VALUE, "b": [1, UNKNOWN_STRING_VALUE]})
    assert plain(proxied) == {"a": UNKNOWN, "b": [1, UNKNOWN]}


def test_secret_data_is_base64_decoded() -> None:
    record = f.secret("s", {"elasticsearch.yml": "a.b: 1\n"})
    (doc,) = settings_documents(record.type, dict(record.properties))
    assert doc.settings == {"a.b": "1"}  # a number as its text, as Elasticsearch reads it


def test_mtls_rule_without_the_sdk() -> None:
    props = {"files": {"elasticsearch.yml": {"content": "x: 1\n", "mode": "0644"}}}
    (finding,) = mtls(ResourceView(f.BUNDLE, "b", "urn:b", props), {})
    assert finding.invariant == "INV-MTLS" and "not true" in finding.what


def test_public_roots_and_private_cas() -> None:
    (root,) = certificates(pems.public_root())
    assert any("public root" in p for p in ca_problems(root))
    (private,) = certificates(pems.PRIVATE_CA)
    assert ca_problems(private) == []


def test_valid_waiver_wins_over_an_expired_one() -> None:
    old = Waiver(None, "n", "old", date(2000, 1, 1))
    new = Waiver("urn:a::n", None, "new", date(2999, 1, 1))
    assert find_waiver([old, new], "urn:a::n") is new
    assert find_waiver([old], "urn:a::n") is old
    assert find_waiver([old], "urn:a::other") is None
