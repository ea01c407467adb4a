"""`python -m preflight`: exit codes, JSON, rendered layout and the handshake matrix."""

from __future__ import annotations

import errno
import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from components import gc_thresholds
from preflight import render
from preflight.cli import EXIT_CLEAN, EXIT_CONFIG, EXIT_VIOLATIONS, main
from preflight.report import Report, Violation, print_report
from preflight.tls_matrix import openssl_runner_only, rendered_nodes, run_matrix

REPO = Path(__file__).resolve().parent.parent


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_module_runs_clean_on_the_dev_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "--stack", "dev"], cwd=REPO,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == EXIT_CLEAN, done.stderr
    assert "policy pack: no violations" in done.stdout
    assert "throwaway" in done.stdout


def test_module_sets_up_its_process_before_main() -> None:
    """Collector thresholds for a large graph (F9), cheap registration stack traces (F12), and
    the pack started for the stack before the program and the SDK were imported."""
    probe = (
        "import gc, sys, runpy, preflight.cli as cli; from pulumi.runtime import resource; "
        "from harness import stack_trace, pack_process; "
        "sys.argv = ['preflight', '--stack', 'staging']; "
        "cli.main = lambda argv, started: print(gc.get_threshold(), "
        "resource._get_stack_trace is stack_trace.stack_trace, started.stack, "
        "started.process.poll() is None) or 0; "
        "runpy.run_module('preflight', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == f"{gc_thresholds.LARGE_GRAPH} True staging True"


def test_the_pack_starts_before_the_program_and_the_sdk_are_imported() -> None:
    # What `python -m preflight` imports before it starts the pack: nothing heavy, so that the
    # pack's boot overlaps the imports rather than following them.
    probe = ("import sys, harness.pack_process, preflight.args; "
             "print(sorted(m for m in ('pulumi', 'grpc', 'components.program', 'cryptography') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "[]"


# Each is imported only by the runs that use it (docs/benchmarks.md, round 7).
ON_DEMAND_MODULES = ("pulumi_kubernetes", "jsonschema", "rich.progress", "preflight.tls_matrix")


@pytest.mark.parametrize(("clusters", "flags", "loaded"), [
    (["logs"], [], []),
    (["logs", "search"], [], ["pulumi_kubernetes"]),
    (["logs"], ["--policy-config", "{levels}"], []),
    (["logs"], ["--policy-config", "{settings}"], ["jsonschema"]),
    (["logs"], ["--handshakes"], ["preflight.tls_matrix", "rich.progress"]),
], ids=["vm only", "with eck", "policy levels", "policy settings", "with handshakes"])
def test_a_run_imports_what_it_uses_only(
    tmp_path: Path, clusters: list[str], flags: list[str], loaded: list[str]
) -> None:
    dev = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    key = "es-transport-pki:clusters"
    dev["config"][key] = [c for c in dev["config"][key] if c["name"] in clusters]
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump(dev))
    configs = {
        "levels": {"all": "mandatory", "es-transport-renewal": {"enforcementLevel": "advisory"}},
        "settings": {"es-transport-validity": {"maxLeafValidityHours": 8760}},
    }
    for name, config in configs.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
    argv = ["--stack-file", str(stack), "--json",
            *(f.format(**{n: tmp_path / f"{n}.json" for n in configs}) for f in flags)]
    probe = (
        "import sys, preflight.cli as cli; code = cli.main(sys.argv[1:]); "
        f"print(); print(*sorted(m for m in {ON_DEMAND_MODULES!r} if m in sys.modules)); "
        "sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == EXIT_CLEAN, done.stderr
    assert done.stdout.splitlines()[-1].split() == loaded


@pytest.mark.parametrize("policy", [{}, {"all": "loud"}], ids=["clean", "bad policy config"])
def test_module_exits_with_mains_code_and_all_of_its_json(
    tmp_path: Path, policy: dict[str, str]
) -> None:
    """The module leaves without freeing the graph (os._exit): the code is main's, and what it
    printed is all there."""
    config = tmp_path / "policy.json"
    config.write_text(json.dumps(policy))
    # Buffered, as stdout to a pipe is by default (this environment may say otherwise).
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "--stack", "dev", "--json", "--policy-config",
         str(config)], cwd=REPO, env=buffered, capture_output=True, text=True, timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)
    if policy:
        assert done.returncode == EXIT_CONFIG
        assert report["configErrors"][0].startswith("all: 'loud' is not an enforcement level")
    else:
        assert done.returncode == EXIT_CLEAN, done.stderr
        assert report["violations"] == [] and len(report["clusters"]) == 2


def test_json_describes_plan_and_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--stack", "dev")
    assert code == EXIT_CLEAN
    assert report["stack"] == "dev" and report["violations"] == []
    plans = {p["cluster"]: p for p in report["clusters"]}
    assert set(plans) == {"logs", "search"}
    assert plans["logs"]["delivery"] == "vm" and plans["logs"]["nodes"] == 3
    assert plans["search"]["certificates"] == 4  # the CA and three pods
    assert report["throwawayKeys"] is True


def test_a_policy_violation_exits_1_with_policy_and_invariant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    strict = tmp_path / "policy.json"
    strict.write_text(json.dumps({"es-transport-validity": {"maxLeafValidityHours": 720}}))
    code, report = run_json(capsys, "--stack", "dev", "--policy-config", str(strict))
    assert code == EXIT_VIOLATIONS
    flagged = {(v["policy"], v["invariant"], v["level"]) for v in report["violations"]}
    assert ("es-transport-validity", "INV-STRENGTH", "mandatory") in flagged
    assert any(v["resource"] == "logs-es-1-cert" for v in report["violations"])
    # Registration order varies between runs; the report's order does not.
    order = [(not v["urn"], v["urn"], v["policy"], v["message"]) for v in report["violations"]]
    assert len(order) > 1 and order == sorted(order)
    clusters = [p["cluster"] for p in report["clusters"]]
    assert clusters == sorted(clusters)


def test_invalid_config_exits_2_with_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    clusters = stack["config"]["es-transport-pki:clusters"]
    clusters[0]["keyAlgorithm"] = "ecdsa-p224"
    clusters[1]["transport"] = {"clientAuthentication": "none"}
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text(yaml.safe_dump(stack))
    code, report = run_json(capsys, "--stack-file", str(bad))
    assert code == EXIT_CONFIG
    errors = "\n".join(report["configErrors"])
    assert "clusters[0].keyAlgorithm" in errors
    assert "clusters[1].transport.clientAuthentication" in errors


def test_an_unquoted_date_reaches_the_program_as_the_cli_passes_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A timestamp-looking scalar is a string to the Pulumi CLI, not a date to encode."""
    stack = tmp_path / "Pulumi.waived.yaml"
    stack.write_text(
        "config:\n"
        "  es-transport-pki:clusters:\n"
        "    - name: a\n"
        "      delivery: vm\n"
        "      nodes: [{name: n, dns: [n.a.internal]}]\n"
        "      transport:\n"
        "        clientAuthentication: optional\n"
        "        waiver: {name: legacy-tribe, reason: OPS-1234, expires: 2020-01-31}\n"
    )
    code, report = run_json(capsys, "--stack-file", str(stack))
    assert code == EXIT_CONFIG
    assert ("  - es-transport-pki:clusters[0].transport.waiver.expires: the waiver expired on "
            "2020-01-31; restore clientAuthentication: required or renew the waiver"
            ) in report["configErrors"]


VM_CLUSTER = {"name": "b", "delivery": "vm", "nodes": [{"name": "n1", "dns": ["n1.internal"]}]}


@pytest.mark.parametrize(("clusters", "expected"), [
    ([{**VM_CLUSTER, "vm": {"outputDir": "", "writeLocalFiles": "no"}}],
     ["es-transport-pki:clusters[0].vm.writeLocalFiles: must be true or false, got 'no'",
      "es-transport-pki:clusters[0].vm.outputDir: must be a non-empty string, got ''"]),
    ("logs", ["es-transport-pki:clusters: must be a non-empty list of clusters, got 'logs'"]),
    (5, ["es-transport-pki:clusters: must be a non-empty list of clusters, got 5"]),
], ids=["vm files", "a string", "a number"])
def test_config_that_out_overrides_is_judged_as_the_stack_file_holds_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clusters: object, expected: list[str]
) -> None:
    """`--out` redirects VM bundles by rewriting `vm.writeLocalFiles` and `vm.outputDir`:
    `pulumi up` would still refuse what the stack file says there."""
    stack = tmp_path / "Pulumi.b.yaml"
    stack.write_text(yaml.safe_dump({"config": {"es-transport-pki:clusters": clusters}}))
    out = tmp_path / "out"
    code, report = run_json(capsys, "--stack-file", str(stack), "--out", str(out))
    assert code == EXIT_CONFIG
    assert report["input"] == "config"
    assert [e.removeprefix("  - ") for e in report["configErrors"][1:]] == expected
    assert not out.exists()


CLUSTERS = "config:\n  es-transport-pki:clusters: "
# 2**40 values in 42 lines: each anchor a list of the one before, twice.
ALIAS_BOMB = ("a0: &a0 [x, x]\n"
              + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 40))
              + CLUSTERS + "[*a39, *a39]\n")
TOO_DEEP = "nests more than 64 maps and lists deep, deeper than any setting"


@pytest.mark.parametrize(("text", "expected"), [
    ("- a\n- b\n", "is a list, not a stack file: a map with `config:` (a map of keys to values)"),
    ("42\n", "is int, not a stack file"),
    ("config:\n  1: {secure: x}\n  es-transport-pki:protectCa: {secure: y}\n",
     "config key 1 is not text: a config key is `<namespace>:<name>`, like "
     "es-transport-pki:clusters; quote it, or remove it"),
    ("config:\n  true: {secure: x}\n", "config key true is not text"),
    (CLUSTERS + "!!binary aGVsbG8=\n", "es-transport-pki:clusters: is a !!binary value, which no "
     "setting takes; write text, a number, true or false, a list or a map"),
    (CLUSTERS + "!!set {a, b}\n", "es-transport-pki:clusters: is a !!set value"),
    (CLUSTERS + "[{ca: {validityDays: !!timestamp 2030-01-01}}]\n",
     "es-transport-pki:clusters[0].ca.validityDays: is a !!timestamp value"),
    (CLUSTERS + '[{"node.attr": {"a[0]": !!binary aGVsbG8=}}]\n',
     'es-transport-pki:clusters[0]["node.attr"]["a[0]"]: is a !!binary value'),
    (CLUSTERS + "[{nodeRotationEpochs: {1.0: 2}}]\n",
     "es-transport-pki:clusters[0].nodeRotationEpochs: has the key 1.0, which YAML reads as a "
     "floating-point number (the CLI passes it as Go prints it: 1.0 as 1), not as written; "
     "quote the key if it is a name, or remove it"),
    (CLUSTERS + "[{nodeRotationEpochs: {~: 2}}]\n",
     "es-transport-pki:clusters[0].nodeRotationEpochs: has the key null, which YAML reads as "
     "null (the CLI passes <nil>)"),
    (CLUSTERS + "[{nodeRotationEpochs: {18446744073709551616: 2}}]\n",
     "has the key 1.8446744073709552e+19, which YAML reads as a floating-point number"),
    (CLUSTERS + "[{nodeRotationEpochs: {!!int 18446744073709551616: 2}}]\n",
     "has the key 18446744073709551616, which YAML reads as a whole number beyond 64 bits"),
    (CLUSTERS + '[{nodeRotationEpochs: {1: 2, "1": 3}}]\n',
     'es-transport-pki:clusters[0].nodeRotationEpochs: has two keys that are both "1" once '
     "read as text"),
    (CLUSTERS + "[{name: 9223372036854775808}]\n",
     "es-transport-pki:clusters[0].name: is the whole number 9223372036854775808, beyond the "
     "64-bit integers the Pulumi CLI holds; quote it if it is text"),
    (CLUSTERS + "[{name: [.nan, -.inf]}]\n",
     "es-transport-pki:clusters[0].name[1]: is -.inf, a number that JSON cannot hold, so "
     "neither can the Pulumi CLI; quote it if it is text"),
    (CLUSTERS + "[{name: !!int 0x" + "f" * 4000 + "}]\n",
     "es-transport-pki:clusters[0].name: is an integer of more than 4300 digits"),
    ("config: &c\n  es-transport-pki:clusters: *c\n",
     'es-transport-pki:clusters["es-transport-pki:clusters"]'),
    (CLUSTERS + "[" * 900 + "]" * 900 + "\n", f"es-transport-pki:clusters{'[0]' * 64}: {TOO_DEEP}"),
    ("secretsprovider: [passphrase]\nconfig: {}\n",
     "secretsprovider must be text, like the stack files in stacks/"),
    (ALIAS_BOMB, "es-transport-pki:clusters: holds more than 1,000,000 values once its YAML "
     "aliases are expanded"),
], ids=["a list", "a number", "a number as key", "true as key", "binary", "set", "timestamp",
        "under keys the --path syntax quotes", "a float as key", "null as key",
        "65 bits as key", "65 bits tagged as a whole number as key", "1 and '1' as keys",
        "2**63", "-.inf", "4800 digits", "an alias of itself", "900 levels",
        "secretsprovider not text", "an alias bomb"])
def test_a_stack_file_no_program_could_be_handed_exits_2_naming_where(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: str
) -> None:
    """Each was a traceback (AttributeError, TypeError, ValueError, RecursionError)."""
    stack = tmp_path / "Pulumi.odd.yaml"
    stack.write_text(text)
    code, report = run_json(capsys, "--stack-file", str(stack))
    assert code == EXIT_CONFIG
    assert report["input"] == "config"
    assert any(expected in error for error in report["configErrors"]), report["configErrors"]


def test_a_stack_file_with_half_a_surrogate_pair_exits_2_with_a_printed_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """It was taken, and printing the config error it caused failed (a traceback, exit 1)."""
    stack = tmp_path / "Pulumi.odd.yaml"
    stack.write_text(CLUSTERS + '[{name: a, delivery: vm, "\\udc00x": 1}]\n')
    assert main(["--stack-file", str(stack)]) == EXIT_CONFIG
    assert "found invalid Unicode character escape code" in capsys.readouterr().out


def test_config_errors_print_the_values_as_they_are(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Not as emoji (`:ab:`, `:cd:`) or markup (`[bold]`): the message quotes the stack file."""
    node = {"name": "n1", "dns": ["n1.internal"], "ips": ["fd00::ab:cd:12345", "[bold]x"]}
    stack = tmp_path / "Pulumi.b.yaml"
    stack.write_text(yaml.safe_dump(
        {"config": {"es-transport-pki:clusters": [{**VM_CLUSTER, "nodes": [node]}]}}))
    assert main(["--stack-file", str(stack)]) == EXIT_CONFIG
    printed = " ".join(capsys.readouterr().out.split())  # unwrapped
    assert "ips[0]: 'fd00::ab:cd:12345' is not an IPv4 or IPv6 address" in printed
    assert "ips[1]: '[bold]x' is not an IPv4 or IPv6 address" in printed


def test_the_report_prints_values_as_they_are() -> None:
    report = Report("[b]dev", warnings=["CA :ab: [bold]expires"])
    report.violations = [Violation("p", "advisory", "INV-MTLS", "[i]n1", "urn", "ip :cd: [u]x")]
    printed = io.StringIO()
    print_report(report, Console(file=printed, width=200, emoji=False))
    for value in ("[b]dev", "CA :ab: [bold]expires", "[i]n1", "ip :cd: [u]x"):
        assert value in printed.getvalue()


def test_a_vm_section_left_empty_is_redirected_too() -> None:
    """`vm:` with nothing under it is null: no files where `pulumi up` would write them."""
    clusters = json.dumps([{**VM_CLUSTER, "vm": None}, {"name": "s", "delivery": "eck"}])
    assert json.loads(render.with_output_dir(clusters, None)) == [
        {**VM_CLUSTER, "vm": {"writeLocalFiles": False}}, {"name": "s", "delivery": "eck"}]
    assert json.loads(render.with_output_dir(clusters, Path("/r")))[0]["vm"] == {
        "writeLocalFiles": True, "outputDir": "/r"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"es-transport-validity": {"maxLeafValidityHours": "a year"}, "all": "loud"}',
         ["all: 'loud' is not an enforcement level; use one of advisory, mandatory, remediate, "
          "disabled"]),
        ('{"es-transport-validity": {"maxLeafValidityHours": "a year"}}',
         ["es-transport-validity.maxLeafValidityHours: 'a year' is not of type 'integer'"]),
        ('{"es-transport-validity": ', ["line 1 column 27: Expecting value"]),
        ('["es-transport-validity"]', ["must be a JSON object of policy names to a level or "
                                       "settings, as for `pulumi preview --policy-pack-config`"]),
    ],
    ids=["names and levels", "settings", "not JSON", "not an object"],
)
def test_a_bad_policy_config_exits_2_naming_the_file_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: list[str]
) -> None:
    config = tmp_path / "policy.json"
    config.write_text(text)
    out = tmp_path / "out"
    code, report = run_json(capsys, "--stack", "dev", "--policy-config", str(config),
                            "--out", str(out))
    assert code == EXIT_CONFIG
    assert report == {"stack": "dev", "input": "policy config", "path": str(config),
                      "configErrors": expected}
    assert not out.exists()


def test_out_must_be_new_empty_or_an_earlier_render(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Throwaway keys never land among other files; a render may be rendered again."""
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    populated = tmp_path / "etc-elasticsearch"
    populated.mkdir()
    (populated / "elasticsearch.yml").write_text("mine")
    for out, problem in [
        (a_file, f"{a_file} exists and is not a directory; name a new or empty directory"),
        (a_file / "below" / "out", f"{a_file / 'below' / 'out'} cannot be created: {a_file} "
                                   "is not a directory; name a new or empty directory elsewhere"),
        (populated, f"{populated} is not empty and holds no earlier preflight render "
                    "(THROWAWAY-KEYS.txt); name a new or empty directory, so that throwaway "
                    "keys land nowhere near real ones"),
    ]:
        code, report = run_json(capsys, "--stack", "dev", "--out", str(out))
        assert code == EXIT_CONFIG
        assert report == {"stack": "dev", "input": "--out", "path": str(out),
                          "configErrors": [problem]}
    assert a_file.read_text() == "mine"
    assert [p.name for p in populated.iterdir()] == ["elasticsearch.yml"]
    rendered = tmp_path / "rendered"
    for _ in range(2):
        code, _report = run_json(capsys, "--stack", "dev", "--out", str(rendered))
        assert code == EXIT_CLEAN


def test_an_out_dir_that_cannot_be_made_is_an_out_error_naming_it_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "read-only" / "out"
    make_dir = Path.mkdir

    def denied(path: Path, *args: Any, **kwargs: Any) -> None:
        if path == out:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        make_dir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", denied)
    code, report = run_json(capsys, "--stack", "dev", "--out", str(out))
    assert code == EXIT_CONFIG
    assert report == {"stack": "dev", "input": "--out", "path": str(out), "configErrors": [
        f"cannot render into {out}: permission denied ({out}); name a directory preflight "
        "can create and write"]}


def test_a_failed_write_after_the_run_is_an_out_error_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    record = out / "render.json"
    write_text = Path.write_text

    def full(path: Path, *args: Any, **kwargs: Any) -> int:
        if path == record:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    code, report = run_json(capsys, "--stack", "dev", "--out", str(out))
    assert code == EXIT_CONFIG
    assert report["configErrors"] == [
        f"cannot render into {out}: no space left on device ({record}); name a directory "
        "preflight can create and write"]


def test_an_earlier_render_is_emptied_when_rendered_again_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "rendered"
    assert run_json(capsys, "--stack", "dev", "--out", str(out))[0] == EXIT_CLEAN
    node = out / "logs" / "es-2"
    subprocess.run(["rm", "-r", str(node)], check=True)
    node.write_text("in the way")
    stack = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    stack["config"]["es-transport-pki:clusters"][0]["keyAlgorithm"] = "ecdsa-p224"
    broken = tmp_path / "Pulumi.dev.yaml"
    broken.write_text(yaml.safe_dump(stack))
    assert run_json(capsys, "--stack-file", str(broken), "--out", str(out))[0] == EXIT_CONFIG
    assert node.read_text() == "in the way"  # nothing rendered, nothing removed
    assert run_json(capsys, "--stack", "dev", "--out", str(out))[0] == EXIT_CLEAN
    assert (node / "certs" / "transport.crt").is_file()


def test_an_unknown_stack_name_lists_the_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--stack", "prdo")
    assert code == EXIT_CONFIG
    assert report["configErrors"] == [
        f"no stack 'prdo' in {REPO / 'stacks'}: the stacks there are dev, prod, staging; or "
        "give any stack file with --stack-file"
    ]


def test_a_missing_policy_config_is_a_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "policy.json"
    code, report = run_json(capsys, "--stack", "dev", "--policy-config", str(missing))
    assert code == EXIT_CONFIG
    assert report["configErrors"] == ["cannot read it: No such file or directory"]


def test_posture_warnings_are_reported_and_refusals_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A stack file of a non-dev stack with a passphrase provider (its `encryptionsalt`)."""
    stack = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    del stack["secretsprovider"]
    stack["encryptionsalt"] = "v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy"
    stack["config"]["es-transport-pki:clusters"][0]["vm"] = {"writeLocalFiles": False}
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump(stack))
    code, report = run_json(capsys, "--stack-file", str(path))
    assert code == EXIT_CLEAN
    [warning] = report["warnings"]
    assert warning.startswith("stack staging encrypts its secrets")
    stack["config"]["es-transport-pki:passphraseSecrets"] = "refuse"
    path.write_text(yaml.safe_dump(stack))
    code, report = run_json(capsys, "--stack-file", str(path))
    assert code == EXIT_CONFIG
    assert any("passphraseSecrets: is 'refuse'" in e for e in report["configErrors"])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, foreign: Path) -> Path:
    """The dev stack rendered over an earlier render of staging: nothing of that may remain
    (its logs cluster has other nodes, which would fail the handshakes)."""
    out = _copy(foreign, tmp_path_factory.mktemp("preflight-out") / "out")
    assert main(["--stack", "dev", "--out", str(out), "--handshakes"]) == EXIT_CLEAN
    return out


def test_out_writes_vm_bundles_kubernetes_objects_and_the_notice(rendered: Path) -> None:
    assert "throwaway" in (rendered / "THROWAWAY-KEYS.txt").read_text()
    assert sorted(p.name for p in rendered.iterdir()) == [
        "THROWAWAY-KEYS.txt", "logs", "render.json", "search"]
    assert sorted(p.name for p in (rendered / "logs").iterdir()) == ["es-1", "es-2", "es-3"]
    # What the files cannot show, for the inventory: dev's logs renew 14 days before expiry.
    record = json.loads((rendered / "render.json").read_text())["clusters"]
    assert record["logs"]["lifetimes"]["nodes"]["renewBeforeDays"] == 14
    assert record["search"]["delivery"] == "eck"
    bundle = rendered / "logs" / "es-1"
    assert (bundle / "certs" / "transport.key").stat().st_mode & 0o777 == 0o600
    settings = yaml.safe_load((bundle / "elasticsearch.yml").read_text())
    assert settings["xpack.security.transport.ssl.client_authentication"] == "required"
    assert (bundle / settings["xpack.security.transport.ssl.certificate"]).is_file()
    k8s = rendered / "search" / "k8s"
    names = sorted(p.name for p in k8s.iterdir())
    assert names == [
        "configmap-search-transport-pki-ca.yaml",
        "elasticsearch-search.yaml",
        "secret-search-transport-pki-certs.yaml",
    ]
    assert (k8s / "secret-search-transport-pki-certs.yaml").stat().st_mode & 0o777 == 0o600
    cr = yaml.safe_load((k8s / "elasticsearch-search.yaml").read_text())
    assert cr["kind"] == "Elasticsearch" and cr["metadata"]["namespace"] == "search-dev"


def test_rendered_material_completes_mutual_tls(rendered: Path, tmp_path: Path) -> None:
    clusters = rendered_nodes(rendered, tmp_path)
    assert {n.name for n in clusters["logs"]} == {"es-1", "es-2", "es-3"}
    assert {n.name for n in clusters["search"]} == {
        "search-es-default-0", "search-es-default-1", "search-es-default-2"}
    outcomes = run_matrix(clusters, openssl_runner_only())
    assert outcomes and all(o.result.ok for o in outcomes)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The staging stack rendered: same cluster names, other CAs."""
    out = tmp_path_factory.mktemp("preflight-staging")
    assert main(["--stack", "staging", "--out", str(out)]) == EXIT_CLEAN
    return out


def _copy(source: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    return target


def test_a_vm_bundle_swapped_for_another_clusters_fails(
    rendered: Path, foreign: Path, tmp_path: Path
) -> None:
    swapped = _copy(rendered, tmp_path / "swapped")
    subprocess.run(["rm", "-r", str(swapped / "logs" / "es-2")], check=True)
    _copy(foreign / "logs" / "es-hot-1", swapped / "logs" / "es-2")
    outcomes = run_matrix(rendered_nodes(swapped, tmp_path / "mounts"), openssl_runner_only())
    logs = [o for o in outcomes if o.cluster == "logs"]
    failed = {(o.server, o.client) for o in logs if not o.result.ok}
    assert failed == {(a, b) for a, b in itertools.permutations(["es-1", "es-2", "es-3"], 2)
                      if "es-2" in (a, b)}


def test_eck_trust_swapped_for_another_clusters_fails(
    rendered: Path, foreign: Path, tmp_path: Path
) -> None:
    swapped = _copy(rendered, tmp_path / "swapped")
    config_map = swapped / "search" / "k8s" / "configmap-search-transport-pki-ca.yaml"
    manifest = yaml.safe_load(config_map.read_text())
    other = yaml.safe_load(
        (foreign / "metrics" / "k8s" / "configmap-metrics-transport-pki-ca.yaml").read_text())
    manifest["data"]["ca.crt"] = other["data"]["ca.crt"]
    config_map.write_text(yaml.safe_dump(manifest))
    outcomes = run_matrix(rendered_nodes(swapped, tmp_path / "mounts"), openssl_runner_only())
    search = [o for o in outcomes if o.cluster == "search"]
    assert search and not any(o.result.ok for o in search)
    assert all("certificate verify failed" in o.result.error for o in search)
