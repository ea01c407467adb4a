"""The pack over the engine's gRPC protocol: discovery, config, levels."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from harness.analyzer import PolicyAnalyzer, PolicyConfigError, PolicyInfo, schema_problems
from harness.pack_process import PackProcess

EXPECTED = {
    "es-transport-leaf-eku": "advisory",
    "es-transport-leaf-usage": "advisory",
    "es-transport-ca-shape": "mandatory",
    "es-transport-key-strength": "mandatory",
    "es-transport-validity": "mandatory",
    "es-transport-mtls": "mandatory",
    "es-transport-verify": "mandatory",
    "es-transport-settings": "mandatory",
    "es-transport-key-custody": "mandatory",
    "es-transport-trusted-ca": "mandatory",
    "es-transport-eku": "mandatory",
    "es-transport-leaf": "mandatory",
    "es-transport-ca-dedicated": "mandatory",
    "es-transport-separate": "mandatory",
    "es-transport-renewal": "advisory",
    "es-transport-mtls-env-from": "mandatory",
    "es-transport-verify-env-from": "mandatory",
    "es-transport-settings-env-from": "mandatory",
    "es-transport-ca-key-custody": "mandatory",
    "es-transport-config-map-key": "advisory",
    "es-transport-ca-protected": "advisory",
}
STACK = {"es-transport-eku", "es-transport-leaf", "es-transport-ca-dedicated",
         "es-transport-separate", "es-transport-renewal", "es-transport-ca-key-custody",
         "es-transport-mtls-env-from", "es-transport-verify-env-from",
         "es-transport-settings-env-from",
         "es-transport-config-map-key", "es-transport-ca-protected"}
NO_COMPANION = {"es-transport-leaf-eku", "es-transport-leaf-usage",
                "es-transport-config-map-key", "es-transport-ca-protected"}


def test_every_policy_is_listed_with_its_level(analyzer: PolicyAnalyzer) -> None:
    info = analyzer.get_analyzer_info()
    assert info.name == "es-transport-pki"
    listed = {p.name: p for p in info.policies}
    for name, level in EXPECTED.items():
        assert listed[name].enforcement_level == level
        assert listed[name].description.startswith("INV-")
        kind = "POLICY_TYPE_STACK" if name in STACK else "POLICY_TYPE_RESOURCE"
        assert listed[name].policy_type == kind
        if name not in NO_COMPANION:
            companion = listed[name + "-advisory"]
            assert (companion.enforcement_level, companion.policy_type) == ("advisory", kind)
    assert len(listed) == len(EXPECTED) * 2 - len(NO_COMPANION)


def test_python_packs_do_not_implement_handshake(analyzer: PolicyAnalyzer) -> None:
    assert analyzer.handshake() is False
    assert analyzer.plugin_version()


def test_config_schema_defaults_reach_the_pack(analyzer: PolicyAnalyzer) -> None:
    sent = analyzer.configure({"es-transport-renewal": "mandatory"})
    assert sent["es-transport-validity"]["maxLeafValidityHours"] == 19800
    assert sent["es-transport-verify"]["allowedVerificationModes"] == ["full", "certificate"]
    assert sent["es-transport-renewal"]["enforcementLevel"] == "mandatory"
    analyzer.configure({})


def test_the_packs_defaults_satisfy_its_own_schemas(analyzer: PolicyAnalyzer) -> None:
    """Configure judges only the settings a config gives; the defaults are judged here."""
    policies = analyzer.get_analyzer_info().policies
    defaults = {
        p.name: {k: v["default"] for k, v in p.config_schema.items() if "default" in v}
        for p in policies
    }
    assert sum(1 for d in defaults.values() if d) >= 8
    assert [problem for p in policies for problem in schema_problems(p, defaults[p.name])] == []
    # The check itself can fail: a default that is not what its schema says.
    wrong = PolicyInfo("p", "", "advisory", "POLICY_TYPE_RESOURCE",
                       {"hours": {"type": "integer", "default": "a year"}})
    assert schema_problems(wrong, {"hours": "a year"}) == [
        "p.hours: 'a year' is not of type 'integer'"
    ]


@pytest.mark.parametrize(
    "waiver",
    [
        {"urn": "x", "reason": "r"},  # no expiry
        {"reason": "r", "expires": "2027-01-01"},  # no target
        {"name": "x", "reason": "r", "expires": "next year"},
    ],
)
def test_malformed_waivers_are_refused_like_the_engine_does(
    analyzer: PolicyAnalyzer, waiver: dict[str, str]
) -> None:
    with pytest.raises(PolicyConfigError, match=r"es-transport-mtls\.waivers\.0"):
        analyzer.configure({"es-transport-mtls": {"waivers": [waiver]}})


def test_every_problem_of_a_config_is_reported_at_once_naming_policy_and_setting(
    analyzer: PolicyAnalyzer,
) -> None:
    given = {
        "es-transport-validty": "mandatory",
        "all": "strict",
        "es-transport-verify": 3,
        "es-transport-renewal": {"enforcementLevel": "loud"},
        "es-transport-validity": {"maxLeafValidityHours": "a year"},
    }
    with pytest.raises(PolicyConfigError) as raised:
        analyzer.configure(given)
    assert raised.value.problems == (
        "es-transport-validty: the pack has no such policy; did you mean es-transport-validity?",
        "all: 'strict' is not an enforcement level; use one of advisory, mandatory, remediate, "
        "disabled",
        "es-transport-verify: must be an enforcement level or an object, not 3",
        "es-transport-renewal.enforcementLevel: 'loud' is not an enforcement level; use one of "
        "advisory, mandatory, remediate, disabled",
    )
    # Names and levels first; the settings are judged against the schemas once those are right.
    with pytest.raises(PolicyConfigError) as raised:
        analyzer.configure({
            "es-transport-validity": {"maxLeafValidityHours": "a year"},
            "es-transport-verify": {"allowedVerificationModes": "full"},
        })
    assert raised.value.problems == (
        "es-transport-validity.maxLeafValidityHours: 'a year' is not of type 'integer'",
        "es-transport-verify.allowedVerificationModes: 'full' is not of type 'array'",
    )


def test_all_takes_a_level_or_an_object_with_one(analyzer: PolicyAnalyzer) -> None:
    for everything in ("disabled", {"enforcementLevel": "disabled"}):
        sent = analyzer.configure({"all": everything, "es-transport-mtls": "advisory"})
        assert sent["es-transport-validity"]["enforcementLevel"] == "disabled"
        assert sent["es-transport-mtls"]["enforcementLevel"] == "advisory"
    analyzer.configure({})


_REQUIRING_PACK = '''
from pulumi_policy import EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationPolicy

PolicyPack(name="requiring", policies=[
    ResourceValidationPolicy(
        name="ticketed", description="needs a ticket",
        enforcement_level=EnforcementLevel.ADVISORY,
        validate=lambda args, report: None,
        config_schema=PolicyConfigSchema(
            properties={"ticket": {"type": "string"}, "hours": {"type": "integer", "default": 1}},
            required=["ticket", "hours"],
        ),
    ),
])
'''


def test_a_schemas_required_properties_are_enforced_like_the_engine_does(
    tmp_path: Path,
) -> None:
    """Our pack requires nothing, but the harness must not pass a config the engine refuses:
    the engine judges each policy's reconciled properties, `required` included."""
    (tmp_path / "PulumiPolicy.yaml").write_text("name: requiring\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(_REQUIRING_PACK)
    with PolicyAnalyzer(PackProcess(tmp_path)) as pack:
        assert pack.get_analyzer_info().policy("ticketed").required == ("ticket", "hours")
        for missing in ({}, {"ticketed": "mandatory"}, {"ticketed": {"hours": 2}}):
            with pytest.raises(PolicyConfigError) as raised:
                pack.configure(missing)
            assert raised.value.problems == ("ticketed: 'ticket' is a required property",)
        # A required property with a default is satisfied by it.
        sent = pack.configure({"ticketed": {"ticket": "SEC-1"}})
        assert sent["ticketed"] == {"enforcementLevel": "advisory", "ticket": "SEC-1", "hours": 1}


def test_connecting_leaves_no_thread_behind_for_close_to_wait_for() -> None:
    # grpc.channel_ready_future polls the channel from a thread every 0.2 s, and closing the
    # channel waits for that poll: about 130 ms of every preflight went there.
    before = set(threading.enumerate())
    with PolicyAnalyzer() as analyzer:
        assert set(threading.enumerate()) == before
        assert analyzer.plugin_version()


def _readme_rows(header: str) -> list[list[str]]:
    """The rows of policy/README.md's table whose header row starts with `header`, as cells."""
    lines = (Path(__file__).resolve().parents[2] / "policy" / "README.md").read_text(
        encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    return rows


def test_the_readme_lists_each_policy_with_its_invariant_level_and_kind(
    analyzer: PolicyAnalyzer,
) -> None:
    info = analyzer.get_analyzer_info()
    primary = {p.name: p for p in info.policies if not p.name.endswith("-advisory")}
    rows = {row[0]: row for row in _readme_rows("| policy | invariant | level |")}
    assert set(rows) == set(primary)
    for name, (_, invariants, level, *_rest) in rows.items():
        policy = primary[name]
        assert level.startswith(policy.enforcement_level), name
        assert ("(stack" in level) == (policy.policy_type == "POLICY_TYPE_STACK"), name
        assert policy.description.startswith(invariants.split(" / ")[0]), name


def test_the_readme_config_table_names_only_keys_the_pack_takes(
    analyzer: PolicyAnalyzer,
) -> None:
    info = analyzer.get_analyzer_info()
    rows = _readme_rows("| policy | property | default |")
    assert rows
    primary = [p.name for p in info.policies if not p.name.endswith("-advisory")]
    for row_name, keys, _default in rows:
        named = set(re.findall(r"`([A-Za-z]+)`", keys))
        assert named, row_name
        # `enforcementLevel` is the engine's, for every policy, not in the pack's schema.
        for name in primary if row_name == "every primary policy" else [row_name]:
            assert named - {"enforcementLevel"} <= set(info.policy(name).config_schema), (
                name, named)


def test_every_invariant_design_enforces_by_policy_has_a_policy(
    analyzer: PolicyAnalyzer,
) -> None:
    """DESIGN §2 names where each invariant is enforced; each it gives to the policy pack is
    the invariant of at least one of the pack's policies, and the pack cites no other."""
    design = Path(__file__).resolve().parents[3] / "shared" / "DESIGN.md"
    rows = [line.split("|")[1:4] for line in design.read_text(encoding="utf-8").splitlines()
            if line.startswith("| INV-")]
    by_policy = {ident.strip() for ident, _rule, where in rows if "policy" in where}
    cited = {ident for p in analyzer.get_analyzer_info().policies
             for ident in p.description.split(":")[0].split("/")}
    assert by_policy and by_policy <= cited, by_policy - cited
    assert cited <= {ident.strip() for ident, _, _ in rows}, cited
