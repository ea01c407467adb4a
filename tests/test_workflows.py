"""The GitHub Actions workflows are valid and cover every stack (checks on pull requests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _load(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    return document


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    assert WORKFLOWS
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, WORKFLOWS)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tests_job_installs_what_ci_installs_so_no_test_is_skipped() -> None:
    """.ci/run installs a JDK (JSSE handshakes), Go with gopkg.in/yaml.v2 (the Pulumi CLI's
    YAML decoder, the oracle of tests/test_stack_file_as_the_cli.py) and cloud-init (the oracle
    of tests/test_cloud_init_real.py); without them those tests skip, so the pull-request job
    sets up all three."""
    steps = _load("pull-request.yml")["jobs"]["tests"]["steps"]
    uses = [str(step.get("uses", "")) for step in steps]
    runs = " ".join(str(step.get("run", "")) for step in steps)
    tests = next(i for i, step in enumerate(steps) if step.get("run") == "bin/test")
    java = next(i for i, u in enumerate(uses) if u.startswith("actions/setup-java@"))
    yaml_v2 = "golang-gopkg-yaml.v2-dev"
    go = next(i for i, step in enumerate(steps) if yaml_v2 in step.get("run", ""))
    cloud_init = next(i for i, step in enumerate(steps)
                      if "install" in step.get("run", "") and " cloud-init" in step["run"])
    assert java < tests and go < tests and cloud_init < tests
    ci_run = (REPO / ".ci" / "run").read_text()
    assert "golang-go" in runs and yaml_v2 in ci_run
    assert "--no-install-recommends cloud-init" in runs and "cloud-init" in ci_run


def test_preflight_runs_for_every_stack_file_without_secrets() -> None:
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml")
              for p in (REPO / "stacks").glob("Pulumi.*.yaml")}
    job = _load("pull-request.yml")["jobs"]["preflight"]
    assert set(job["strategy"]["matrix"]["stack"]) == stacks
    assert "secrets." not in yaml.safe_dump(job)
    commands = " ".join(str(step.get("run", "")) for step in job["steps"])
    assert "-m preflight" in commands and "--handshakes" in commands


def test_policy_preview_and_scheduled_up_use_the_policy_pack() -> None:
    preview = _load("pull-request.yml")["jobs"]["policy-preview"]["steps"][-1]
    assert preview["uses"].startswith("pulumi/actions@")
    assert preview["with"]["command"] == "preview" and preview["with"]["policyPacks"] == "policy"
    renew = _load("renew.yml")
    # `on` is YAML 1.1's boolean true when loaded with PyYAML.
    assert renew[True]["schedule"]
    up = renew["jobs"]["up"]["steps"][-1]
    assert up["with"]["command"] == "up" and up["with"]["policyPacks"] == "policy"


def test_jobs_that_decrypt_kms_backed_stacks_get_aws_credentials_first() -> None:
    """staging and prod name an awskms:// secrets provider: every job running pulumi on them
    assumes an AWS role through OIDC before the pulumi step."""
    jobs = [_load("pull-request.yml")["jobs"]["policy-preview"], _load("renew.yml")["jobs"]["up"]]
    workflow_permissions = _load("renew.yml")["permissions"]
    for job in jobs:
        uses = [str(step.get("uses", "")) for step in job["steps"]]
        aws = next(i for i, u in enumerate(uses) if u.startswith("aws-actions/configure-aws-"))
        pulumi = next(i for i, u in enumerate(uses) if u.startswith("pulumi/actions@"))
        assert aws < pulumi
        assert job["steps"][aws]["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_TO_ASSUME }}"
        permissions = job.get("permissions", workflow_permissions)
        assert permissions["id-token"] == "write"
