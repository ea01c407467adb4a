"""Drive a Python CrossGuard pack over the engine's gRPC Analyzer protocol.

Launch, as the engine does (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go,
NewPolicyAnalyzer, and the `pulumi-analyzer-policy-python` shim): working directory = the pack
directory, argv `python -u -m pulumi.policy <engine-address> .`, environment + PULUMI_PROJECT,
PULUMI_STACK, PULUMI_DRY_RUN, PULUMI_ORGANIZATION, PULUMI_CONFIG (`harness/pack_process.py`; the
module runs through `harness/pack_main.py`, which ends it with its starter). The pack prints its
port as the first stdout line. Then, like the engine: Handshake (Python packs answer UNIMPLEMENTED,
which the engine tolerates), ConfigureStack, GetAnalyzerInfo, Configure (config reconciled the
engine's way: schema defaults, then the JSON of `--policy-pack-config`, validated against each
policy's schema), Analyze per resource, AnalyzeStack once.

pulumi-policy never dials the engine address, so none is served here.
"""

from __future__ import annotations

import difflib
import os
import selectors
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeAlias

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, plugin_pb2

from components.quoting import quoted
from harness.pack_process import PackProcess

# Wire encodings of the engine (sdk/go/common/resource/plugin/rpc.go).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVEL_CODES = {v: k for k, v in LEVELS.items()}
START_TIMEOUT_S = 30.0
# The engine reads analyzer responses of up to 400 MiB, as every Pulumi SDK and pulumi-policy
# set it (`_MAX_RPC_MESSAGE_SIZE`), not gRPC's default 4 MiB: a large stack's findings exceed it.
ENGINE_CHANNEL_OPTIONS = (("grpc.max_receive_message_length", 400 * 1024 * 1024),)


class AnalyzerError(Exception):
    """The pack failed to start or answer; the message carries its stderr."""


def secret(value: Any) -> dict[str, Any]:
    """`value` as the engine sends a secret."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


# A resource's values, in the engine's encoding: as Python values, or already as the Struct.
Values: TypeAlias = Mapping[str, Any] | struct_pb2.Struct


@dataclass(frozen=True)
class Record:
    """One resource as the engine knows it: inputs for Analyze; outputs (or the inputs, when
    None, as at preview for a resource to be created) for AnalyzeStack."""

    type: str
    name: str
    urn: str
    properties: Values
    parent: str = ""
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    outputs: Values | None = None
    protect: bool = False


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    policy_type: str
    config_schema: dict[str, Any]  # the schema's properties
    required: tuple[str, ...] = ()  # the schema's top-level `required`


@dataclass(frozen=True)
class AnalyzerInfo:
    name: str
    policies: tuple[PolicyInfo, ...]

    def policy(self, name: str) -> PolicyInfo:
        return next(p for p in self.policies if p.name == name)


@dataclass(frozen=True)
class Diagnostic:
    policy_name: str
    enforcement_level: str
    message: str
    urn: str
    description: str


def _struct(values: Values) -> struct_pb2.Struct:
    if isinstance(values, struct_pb2.Struct):
        return values
    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


def _diagnostics(response: analyzer_pb2.AnalyzeResponse) -> list[Diagnostic]:
    return [
        Diagnostic(d.policyName, LEVELS[d.enforcementLevel], d.message, d.urn, d.description)
        for d in response.diagnostics
    ]


class PolicyConfigError(ValueError):
    """A `--policy-pack-config` the engine would refuse. `problems` holds every one of them, each
    naming the policy and the setting, as the engine lists them."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def _level_problems(where: str, level: Any) -> list[str]:
    if isinstance(level, str) and level in LEVEL_CODES:
        return []
    return [f"{where}: {quoted(level)} is not an enforcement level; use one of "
            f"{', '.join(LEVEL_CODES)}"]


def _entry_problems(name: str, value: Any, known: Mapping[str, PolicyInfo]) -> list[str]:
    if name != "all" and name not in known:
        # The engine ignores it; preflight refuses it, so that a misspelt policy name cannot
        # leave the policy on its defaults unnoticed.
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"policies: {', '.join(sorted(known))}"
        return [f"{name}: the pack has no such policy; {hint}"]
    if isinstance(value, str):
        return _level_problems(name, value)
    if not isinstance(value, Mapping):
        return [f"{name}: must be an enforcement level or an object, not {quoted(value)}"]
    if "enforcementLevel" not in value:
        return []
    return _level_problems(f"{name}.enforcementLevel", value["enforcementLevel"])


def schema_problems(policy: PolicyInfo, props: Mapping[str, Any]) -> list[str]:
    """What the engine reports for `props` against `policy`'s config schema, one message per
    problem naming the policy and the setting; a malformed schema raises SchemaError."""
    # Imported on first use: only a config that sets properties is judged (reconcile_config).
    import jsonschema  # noqa: PLC0415

    # Draft 7, as the engine's gojsonschema (drafts 4 to 7); the schema is checked too, as
    # gojsonschema compiles it.
    schema: dict[str, Any] = {"type": "object", "properties": policy.config_schema}
    if policy.required:
        schema["required"] = list(policy.required)
    jsonschema.Draft7Validator.check_schema(schema)
    errors = jsonschema.Draft7Validator(schema).iter_errors(dict(props))
    return sorted(
        f"{policy.name}.{'.'.join(str(part) for part in error.absolute_path)}: {_message(error)}"
        if error.absolute_path else f"{policy.name}: {_message(error)}"
        for error in errors
    )


def _message(error: Any) -> str:
    """jsonschema's message for `error`, quoting the value it judges as `quoted` does."""
    message: str = error.message
    return message.replace(repr(error.instance), quoted(error.instance))


def _properties(entry: object) -> dict[str, Any]:
    """The properties a per-policy config entry sets, its level aside (a level string sets
    none)."""
    if not isinstance(entry, Mapping):
        return {}
    return {k: v for k, v in entry.items() if k != "enforcementLevel"}


def _config_problems(policy: PolicyInfo, reconciled: object, given: object) -> list[str]:
    if policy.required:
        return schema_problems(policy, _properties(reconciled))
    props = _properties(given)
    return schema_problems(policy, props) if props else []


def reconcile_config(info: AnalyzerInfo, given: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's ReconcilePolicyPackConfig: defaults from each schema and the default
    level, then `all`, then per-policy entries (a level string or an object); validated.
    Raises `PolicyConfigError` with every problem.

    The engine judges each policy's reconciled properties. Without a `required` list a schema
    judges each property on its own, so judging the properties `given` sets is judging the
    whole: the rest are the pack's own defaults, which tests/policy/test_protocol.py checks
    against its schemas. A config that sets no property never loads jsonschema: its import,
    on the pack stream's thread beside the program, cost a 100-node preflight ≈ 0.2 s
    (docs/benchmarks.md, round 7). A policy whose schema requires properties is judged whole."""
    known = {policy.name: policy for policy in info.policies}
    problems = [p for name, value in given.items() for p in _entry_problems(name, value, known)]
    if problems:
        raise PolicyConfigError(problems)
    result: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        props = {k: v["default"] for k, v in policy.config_schema.items() if "default" in v}
        result[policy.name] = {"enforcementLevel": policy.enforcement_level, **props}
    everything = given.get("all")
    level_for_all = everything.get("enforcementLevel") if isinstance(everything, Mapping) else (
        everything)
    if level_for_all is not None:
        for entry in result.values():
            entry["enforcementLevel"] = level_for_all
    for name, value in given.items():
        if name != "all":
            result[name].update({"enforcementLevel": value} if isinstance(value, str) else value)
    problems = [
        problem
        for policy in info.policies
        for problem in _config_problems(policy, result[policy.name], given.get(policy.name))
    ]
    if problems:
        raise PolicyConfigError(problems)
    return result


def analyzer_info(info: analyzer_pb2.AnalyzerInfo) -> AnalyzerInfo:
    return AnalyzerInfo(
        info.name,
        tuple(
            PolicyInfo(
                p.name, p.description, LEVELS[p.enforcementLevel],
                analyzer_pb2.PolicyType.Name(p.policy_type),
                json_format.MessageToDict(p.configSchema.properties),
                tuple(p.configSchema.required),
            )
            for p in info.policies
        ),
    )


def configure_request(
    config: Mapping[str, Mapping[str, Any]],
) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """The Configure call for a reconciled config (see `reconcile_config`)."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, entry in config.items():
        props = _properties(entry)
        request.policyConfig[name].CopyFrom(
            analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVEL_CODES[entry["enforcementLevel"]],
                properties=_struct(props),
            )
        )
    return request


def analyze_request(record: Record) -> analyzer_pb2.AnalyzeRequest:
    """What the engine sends for one resource during a preview."""
    return analyzer_pb2.AnalyzeRequest(
        type=record.type, name=record.name, urn=record.urn,
        properties=_struct(record.properties),
        options=analyzer_pb2.AnalyzerResourceOptions(parent=record.parent, protect=record.protect),
    )


def analyze_stack_request(records: Iterable[Record]) -> analyzer_pb2.AnalyzeStackRequest:
    """The AnalyzeStack call the engine makes for `records` (their outputs where known)."""
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=r.type, name=r.name, urn=r.urn, parent=r.parent,
            properties=_struct(r.outputs if r.outputs is not None else r.properties),
            options=analyzer_pb2.AnalyzerResourceOptions(parent=r.parent, protect=r.protect),
            dependencies=list(r.dependencies),
            propertyDependencies={
                k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                for k, v in r.property_dependencies.items() if v
            },
        )
        for r in records
    ]
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


class PolicyAnalyzer:
    """A running pack. Use as a context manager: the process always ends on exit."""

    def __init__(self, pack: PackProcess | None = None, *, connect: bool = True) -> None:
        """`pack`: the pack's process, started already (default: this project's pack for stack
        `test`, as a preview); the analyzer takes it over and closes it."""
        self._pack = pack if pack is not None else PackProcess()
        self.pack_dir, self.project = self._pack.pack_dir, self._pack.project
        self.stack, self.dry_run = self._pack.stack, self._pack.dry_run
        if connect:
            try:
                self.connect()
            except BaseException:
                self.close()
                raise

    def connect(self) -> None:
        """Wait until the pack listens, and open the channel. `__init__` does it unless
        `connect=False`: the pack then boots while the caller does something else first."""
        port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=ENGINE_CHANNEL_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        # A first call that waits for the connection, rather than `channel_ready_future`: that
        # one leaves a thread polling the channel's state every 0.2 s, which `close` then waits
        # for (≈ 130 ms of every preflight).
        self._stub.GetPluginInfo(empty_pb2.Empty(), wait_for_ready=True, timeout=START_TIMEOUT_S)

    def _read_port(self) -> int:
        assert self._pack.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self._pack.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise AnalyzerError(f"no port within {START_TIMEOUT_S}s: {self.stderr()}")
            chunk = os.read(self._pack.process.stdout.fileno(), 64)
            if not chunk:
                raise AnalyzerError(f"pack exited before printing its port: {self.stderr()}")
            line += chunk
        return int(line.split(b"\n", 1)[0])

    def stderr(self) -> str:
        return self._pack.stderr()

    def close(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        self._pack.close()

    def __enter__(self) -> PolicyAnalyzer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ engine calls

    def handshake(self) -> bool:
        """False when the pack does not implement Handshake (Python packs), as the engine
        tolerates."""
        directory = str(self.pack_dir)
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address="127.0.0.1:0", root_directory=directory, program_directory=directory
        )
        try:
            self._stub.Handshake(request)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                return False
            raise
        return True

    def configure_stack(self, tags: Mapping[str, str] | None = None) -> None:
        self._stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack, project=self.project, organization="organization",
                dry_run=self.dry_run, tags=dict(tags or {}),
            )
        )

    def plugin_version(self) -> str:
        info: plugin_pb2.PluginInfo = self._stub.GetPluginInfo(empty_pb2.Empty())
        return info.version

    def get_analyzer_info(self) -> AnalyzerInfo:
        return analyzer_info(self._stub.GetAnalyzerInfo(empty_pb2.Empty()))

    def configure(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Reconcile `given` (the `--policy-pack-config` JSON) and send it; returns what was
        sent."""
        config = reconcile_config(self.get_analyzer_info(), given or {})
        self._stub.Configure(configure_request(config))
        return config

    def analyze(self, record: Record, *, timeout: float | None = None) -> list[Diagnostic]:
        """`timeout` (seconds): a call still running then fails with DEADLINE_EXCEEDED."""
        # Blocking: a future's result comes back through gRPC's channel thread, ≈ 0.3 ms later.
        return _diagnostics(self._stub.Analyze(analyze_request(record), timeout=timeout))

    def analyze_soon(self, record: Record) -> Callable[[], list[Diagnostic]]:
        """Send Analyze for `record` now; the returned function waits for its diagnostics
        (raising what the call raised). Several may be in flight, as during the engine's
        parallel steps; the pack serves them on its own threads."""
        call = self._stub.Analyze.future(analyze_request(record))
        return lambda: _diagnostics(call.result())

    def analyze_stack(
        self, records: Iterable[Record], *, timeout: float | None = None
    ) -> list[Diagnostic]:
        """`timeout` (seconds): a call still running then fails with DEADLINE_EXCEEDED."""
        return _diagnostics(
            self._stub.AnalyzeStack(analyze_stack_request(records), timeout=timeout)
        )

    def preview(self, records: Sequence[Record]) -> list[Diagnostic]:
        """What a preview reports: Analyze for every resource, then AnalyzeStack."""
        found = [d for r in records for d in self.analyze(r)]
        return found + self.analyze_stack(records)
