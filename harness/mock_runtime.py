"""Run a Pulumi program the way `pulumi up` would, without an engine: mocks that emulate pulumi-tls,
a monitor that records every registration as the engine receives it, and an engine-state cache.

Why more than `set_mocks` + `Mocks.new_resource`:
* `new_resource` sees only type/name/inputs; policies and tests need parents, dependencies,
  options and the secret-ness of each value, which only the RegisterResource request carries;
* stock `set_mocks` registers and *finishes* the root Stack before the program runs, so
  `pulumi.export` values never reach the monitor; `run_program` runs the program inside its own
  Stack exactly as the language host does (`run_in_stack`);
* a real engine keeps outputs in state: an unchanged resource keeps its key and certificate on
  the next `up`. `EngineState` models that, so "same config ⇒ no diff" can be tested.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Generic, Literal, TypeVar, cast

import pulumi
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.output import Unknown as SdkUnknown
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks, set_mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from harness import dynamic_providers
from harness import tls_emulator as tls

STACK_TYPE: Final = "pulumi:pulumi:Stack"
# The engine's built-in invoke behind StackReference; the program reads its own stack with it.
READ_STACK_OUTPUTS: Final = "pulumi:pulumi:readStackOutputs"
PROVIDER_TYPE_PREFIX: Final = "pulumi:providers:"

Clock = Callable[[], datetime]
Step = Literal["create", "same", "update", "replace"]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- values as the engine sees them --------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A value the engine stores encrypted (the SDK's secret signature on the wire)."""

    value: Any


@dataclass(frozen=True)
class Unknown:
    """A value not known yet (preview only)."""


UNKNOWN: Final = Unknown()


def reveal(value: Any) -> Any:
    """The plain value: every `Secret` wrapper removed, at any depth."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(v) for v in value]
    return value


def from_wire(value: Any) -> Any:
    """A JSON value from a protobuf Struct: secret signatures become `Secret`, the unknown
    sentinel `UNKNOWN`, and integral numbers ints (Struct numbers are doubles; state shows 3072)."""
    if isinstance(value, dict):
        if value.get(tls.SECRET_SIG_KEY) == tls.SECRET_SIG:
            return Secret(from_wire(value.get("value")))
        return {k: from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def struct_to_python(struct: struct_pb2.Struct) -> dict[str, Any]:
    """`from_wire(json_format.MessageToDict(struct))` in one pass, without json_format's
    generic descriptor walk: two or three of these per registration were ≈ 6 % of a run."""
    return cast(dict[str, Any], _struct_value(struct))


def _struct_value(struct: struct_pb2.Struct) -> Any:
    fields = struct.fields
    signature = fields.get(tls.SECRET_SIG_KEY)
    if signature is not None and signature.string_value == tls.SECRET_SIG:
        return Secret(_value_to_python(fields["value"]) if "value" in fields else None)
    return {key: _value_to_python(value) for key, value in fields.items()}


def _value_to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return UNKNOWN if value.string_value == rpc.UNKNOWN else value.string_value
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _struct_value(value.struct_value)
    if kind == "list_value":
        return [_value_to_python(item) for item in value.list_value.values]
    return None


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Secret):
        return contains_unknown(value.value)
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def _sdk_unknowns_to_sentinel(value: Any) -> Any:
    """SDK-side unknowns (preview inputs) back into the wire sentinel, for echoed outputs."""
    if isinstance(value, SdkUnknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: _sdk_unknowns_to_sentinel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sdk_unknowns_to_sentinel(v) for v in value]
    return value


# --- the pulumi-tls mocks ------------------------------------------------------------------


class TlsMocks(Mocks):
    """pulumi-tls emulated with real cryptography; every other custom resource echoes its
    inputs (secret wrappers kept); component resources have no outputs."""

    def __init__(
        self, clock: Clock | None = None, stack_outputs: Mapping[str, Any] | None = None
    ) -> None:
        self.clock: Clock = clock or utc_now
        # The running stack's outputs as its last successful `up` left them.
        self.stack_outputs: Mapping[str, Any] = stack_outputs or {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ in tls.TLS_TYPES:
            return tls.create(args.typ, args.inputs, self.clock())
        if not args.custom and not args.typ.startswith(PROVIDER_TYPE_PREFIX):
            return "", {}
        return f"{args.name}_id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        own = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
        if args.token == READ_STACK_OUTPUTS and args.args.get("name") == own:
            return {
                "name": own,
                "outputs": reveal(self.stack_outputs),
                "secretOutputNames": sorted(
                    k for k, v in self.stack_outputs.items() if isinstance(v, Secret)
                ),
            }, []
        # Returning {} would let a program read empty data as if a provider had answered.
        raise NotImplementedError(f"invoke {args.token} is not emulated by the test harness")


# --- engine state --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredResource:
    """One resource in the emulated state file."""

    type: str
    custom: bool
    inputs: Any  # revealed wire inputs, for diffing
    replacement_trigger: Any
    id: str
    outputs: dict[str, Any]  # SDK form (secret signatures), returned as-is on "same"
    protect: bool = False


@dataclass
class Changes:
    """URNs per step of one run, as `pulumi up` would summarise them."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def add(self, step: Step, urn: str) -> None:
        {"create": self.created, "update": self.updated, "replace": self.replaced,
         "same": self.unchanged}[step].append(urn)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    return {
        k for k in set(old) | set(new) if old.get(k) != new.get(k) or contains_unknown(new.get(k))
    }


def _replaces_on(type_: str, changed: set[str], replace_on_changes: Sequence[str]) -> bool:
    # pulumi-tls: every input but a certificate's earlyRenewalHours forces replacement (DESIGN
    # §6); elsewhere only replaceOnChanges.
    if type_ in tls.TLS_TYPES:
        return tls.replaces(type_, changed)
    return "*" in replace_on_changes or bool(changed & set(replace_on_changes))


class EngineState:
    """Outputs by URN across runs. The root Stack is not kept here (it is not a resource a
    program creates or replaces; its exports are in `Recording.stack_outputs`).

    Deliberately absent: renewal through earlyRenewalHours. pulumi-tls does not act on it
    (pulumi/pulumi-tls#39), so a stored certificate survives until its inputs or its
    replacement trigger change - exactly what the program has to cope with.
    """

    def __init__(self) -> None:
        self.resources: dict[str, StoredResource] = {}
        # The stack's exports after the last successful `up` (what `readStackOutputs` returns);
        # a failed or preview run leaves them as they were, as the engine does.
        self.stack_outputs: dict[str, Any] = {}

    def plan(
        self, urn: str, type_: str, inputs: Mapping[str, Any], trigger: Any,
        replace_on_changes: Sequence[str] = (),
    ) -> Step:
        prior = self.resources.get(urn)
        if prior is None:
            return "create"
        if prior.type != type_ or prior.replacement_trigger != trigger or contains_unknown(trigger):
            return "replace"
        changed = _changed_keys(prior.inputs, inputs)
        if not changed:
            return "same"
        return "replace" if _replaces_on(type_, changed, replace_on_changes) else "update"

    def prior(self, urn: str, aliases: Sequence[str]) -> str | None:
        """The state entry a registration of `urn` continues: `urn` itself, else the first of
        its aliases in state (the engine then carries that resource over to `urn`)."""
        return next((u for u in (urn, *aliases) if u in self.resources), None)

    def store(self, urn: str, resource: StoredResource, *, moved_from: str | None = None) -> None:
        if moved_from is not None and moved_from != urn:
            del self.resources[moved_from]
        self.resources[urn] = resource

    def unregistered(self, registered: set[str]) -> list[str]:
        return [urn for urn in self.resources if urn not in registered]

    def check_deletable(self, urns: Sequence[str]) -> None:
        protected = [urn for urn in urns if self.resources[urn].protect]
        if protected:
            # The engine's DeleteStep refuses, and the update fails.
            raise ProtectedResourceError(protected[0], (
                f"unable to delete resource {protected[0]!r}\nas it is currently marked for "
                "protection. To unprotect the resource, either remove the `protect` flag from "
                "the resource in your Pulumi program or use the command:\n"
                f"`pulumi state unprotect {protected[0]}`"
            ))

    def delete(self, urns: Sequence[str]) -> None:
        """`run_program` has called `check_deletable` first: before any provider deletes."""
        for urn in urns:
            del self.resources[urn]


class ProtectedResourceError(Exception):
    """The engine refused to delete or replace a resource marked `protect` in state."""

    def __init__(self, urn: str, message: str) -> None:
        super().__init__(message)
        self.urn = urn


# --- the recording monitor -----------------------------------------------------------------


@dataclass
class Registration:
    """One RegisterResource request as the engine receives it, and what it answered."""

    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    id: str
    step: Step
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool | None
    replacement_trigger: Any
    additional_secret_outputs: list[str]
    aliases: list[Any]
    provider: str
    replace_on_changes: list[str]
    ignore_changes: list[str]
    delete_before_replace: bool | None
    retain_on_delete: bool | None
    deleted_with: str
    version: str = ""
    plugin_download_url: str = ""


@dataclass(frozen=True)
class Sent:
    """A registration as `run_program(on_register=...)` hands it on, with `inputs` and the
    custom resource's `outputs` as they went over the wire (the request's and the response's
    `object`): the policy pack is sent these, without encoding them again. Only a consumer
    that asks gets them; a `Recording` keeps none (+41 MiB over a 1,000-node run)."""

    registration: Registration
    request_object: struct_pb2.Struct
    response_object: struct_pb2.Struct


def detached(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    """A copy of its own, to keep: a sub-message keeps its whole request alive (a request's
    stack trace outweighs its inputs), +27 MiB over a 1,000-node run."""
    copy_ = struct_pb2.Struct()
    copy_.CopyFrom(struct)
    return copy_


def _optional_bool(request: Any, name: str) -> bool | None:
    return bool(getattr(request, name)) if request.HasField(name) else None


def _ignore_changes(request: Any, old_inputs: Mapping[str, Any]) -> None:
    """The engine's processIgnoreChanges, on an update: each ignored property takes its old
    input value (or is dropped if it had none), and the provider, the diff, the state and the
    policy pack all see that. Top-level, non-secret properties only: what this project uses."""
    fields = request.object.fields
    for name in request.ignoreChanges:
        if "." in name or "[" in name or name == "*":
            raise NotImplementedError(f"ignoreChanges {name!r}: only top-level properties")
        # Stored inputs are revealed, so an old secret could not be restored as one.
        if name in fields and isinstance(_value_to_python(fields[name]), Secret):
            raise NotImplementedError(f"ignoreChanges {name!r}: secret values")
        if name in old_inputs:
            request.object.update({name: old_inputs[name]})
        else:
            fields.pop(name, None)


def _replacement_trigger(request: Any) -> Any:
    if not request.HasField("replacement_trigger"):
        return None
    return from_wire(json_format.MessageToDict(request.replacement_trigger))


def _property_dependencies(request: Any) -> dict[str, list[str]]:
    return {key: list(deps.urns) for key, deps in request.propertyDependencies.items()}


def _apply_additional_secret_outputs(
    outputs: dict[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    """What the engine does with `additionalSecretOutputs` (the stock mock monitor does not)."""
    return {k: tls.wrap_secret(v) if k in names else v for k, v in outputs.items()}


def _plain(value: Any) -> bool:
    if value is None or type(value) in (str, bool, int, float):
        return True
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return False


def response_struct(outputs: dict[str, Any]) -> struct_pb2.Struct:
    """The RegisterResource response's `object`: what `rpc.serialize_properties(outputs, {})`
    encodes. Outputs of plain JSON values (the wire form: secrets as signature maps), which is
    what the emulator, the providers and echoed inputs give, are encoded directly: the SDK's
    path awaits a coroutine per value, and was ≈ a tenth of a bundle's registration. Anything
    else goes through the SDK."""
    if not _plain(outputs):
        return cast(struct_pb2.Struct, _sync_await(rpc.serialize_properties(outputs, {})))
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in outputs.items() if value is not None})
    return struct


@dataclass(frozen=True)
class _Planned:
    """One registration between the monitor's planning and its record of the result."""

    wire_inputs: dict[str, Any]
    trigger: Any
    # `wire_inputs` and `trigger` revealed, as the state compares and stores them.
    plain_inputs: dict[str, Any]
    plain_trigger: Any
    prior_urn: str | None
    prior: StoredResource | None
    protect: bool
    step: Step
    sdk_inputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, plus: a record of every request, engine-state steps, the
    engine's `additionalSecretOutputs`, and the stack's exports."""

    def __init__(
        self, mocks: Mocks, state: EngineState, *, preview: bool = False,
        on_register: Callable[[Sent], None] | None = None,
    ) -> None:
        super().__init__(mocks)
        self.state = state
        self.preview = preview
        # Called with each registration as it is recorded, under the lock: it must not block.
        self.on_register = on_register
        self.registrations: list[Registration] = []
        # RegisterResourceOutputs looks its resource up once per component: no scan per call.
        self._by_urn: dict[str, Registration] = {}
        self.changes = Changes()
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}
        # Earlier URNs that registrations continued through an alias: not deleted by this run.
        self.aliased: set[str] = set()
        # The SDK calls the monitor from executor threads; the engine serialises its state
        # updates too. Provider work runs outside it (RegisterResource).
        self._lock = threading.Lock()
        # The Python dynamic-provider host serves steps from 4 threads (pulumi/dynamic/__main__).
        self._provider_slots = threading.BoundedSemaphore(4)
        self.private_loop = _PrivateLoop()
        # Every registration that raised, in the order they raised: the run raises one of
        # them, and the rest must neither go unreported nor surface later (run_program).
        self.failures: list[tuple[str, Exception]] = []

    def make_urn(
        self, parent: str, type_: str, name: str, *, stack: str = "", project: str = ""
    ) -> str:
        """The engine's URN: the parent's whole qualified type chain, the root Stack's type left
        out (the stock mock keeps only the last parent type and includes the Stack's)."""
        qualified = type_
        if parent and parent != self.stack_urn:
            qualified = f"{parent.split('::')[2]}${type_}"
        stack, project = stack or pulumi.get_stack(), project or pulumi.get_project()
        return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"

    def alias_urns(self, request: Any) -> list[str]:
        """The URNs a registration's aliases name, resolved as the engine resolves alias specs:
        an empty field means the resource's own name, type, stack or project; no parent field
        means its own parent, `noParent` the root. (Aliases a child inherits from its parent's
        aliases are not modelled: nothing here aliases a parent.)"""
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = {"parentUrn": spec.parentUrn, "noParent": ""}.get(
                str(spec.WhichOneof("parent")), request.parent
            )
            urns.append(self.make_urn(
                parent, spec.type or request.type, spec.name or request.name,
                stack=spec.stack, project=spec.project,
            ))
        return urns

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        try:
            return self._register(urn, request)
        except Exception as err:
            with self._lock:
                self.failures.append((urn, err))
            raise

    def _register(self, urn: str, request: Any) -> Any:
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        with self._lock:
            planned = self.private_loop.run(lambda: self._plan(urn, request))
        if dynamic_providers.is_dynamic(request.type):
            # Outside the lock, at most as many at once as the provider host runs (its
            # bundles' fsyncs would otherwise stall every other registration).
            with self._provider_slots:
                outcome = dynamic_providers.register(
                    urn, planned.sdk_inputs, planned.prior, planned.step, preview=self.preview,
                    delete_before_replace=request.deleteBeforeReplace,
                )
            planned = dataclasses.replace(
                planned, step=outcome.step, id=outcome.id, outputs=outcome.outputs
            )
        with self._lock:
            return self.private_loop.run(lambda: self._record(urn, request, planned))

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        outputs = struct_to_python(request.outputs)
        with self._lock:
            if request.urn == self.stack_urn:
                self.stack_outputs = outputs
            registration = self._by_urn.get(request.urn)
            if registration is not None:
                registration.outputs = outputs
        return empty_pb2.Empty()

    def _plan(self, urn: str, request: Any) -> _Planned:
        trigger = _replacement_trigger(request)
        prior_urn = self.state.prior(urn, self.alias_urns(request))
        if prior_urn is not None and prior_urn != urn:
            self.aliased.add(prior_urn)
        if prior_urn is not None and request.ignoreChanges:
            _ignore_changes(request, self.state.resources[prior_urn].inputs)
        wire_inputs = struct_to_python(request.object)
        plain_inputs, plain_trigger = reveal(wire_inputs), reveal(trigger)
        step = self.state.plan(
            prior_urn or urn, request.type, plain_inputs, plain_trigger,
            list(request.replaceOnChanges),
        )
        prior = None if prior_urn is None else self.state.resources[prior_urn]
        protect = bool(_optional_bool(request, "protect"))
        if step == "replace" and prior is not None and prior.protect and protect:
            # Unprotecting and replacing in one update is allowed, as by the engine.
            raise ProtectedResourceError(urn, (
                f"unable to replace resource {urn!r}\nas it is currently marked for protection. "
                "To unprotect the resource, remove the `protect` flag from the resource in your "
                "Pulumi program and run `pulumi up`"
            ))
        planned = _Planned(
            wire_inputs, trigger, plain_inputs, plain_trigger, prior_urn, prior, protect, step
        )
        if dynamic_providers.is_dynamic(request.type):
            # The provider's step runs next, outside the lock (RegisterResource).
            return dataclasses.replace(
                planned, sdk_inputs=rpc.deserialize_properties(request.object, keep_unknowns=True)
            )
        id_, outputs = self._outputs_for(prior, request, step)
        return dataclasses.replace(planned, id=id_, outputs=outputs)

    def _record(self, urn: str, request: Any, planned: _Planned) -> Any:
        outputs = _apply_additional_secret_outputs(
            planned.outputs, list(request.additionalSecretOutputs)
        )
        if not self.preview:
            self.state.store(urn, StoredResource(
                request.type, bool(request.custom), planned.plain_inputs,
                planned.plain_trigger, planned.id, copy.deepcopy(outputs), planned.protect),
                moved_from=planned.prior_urn)
        self.changes.add(planned.step, urn)
        response_object = response_struct(outputs)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, planned.id, outputs)
        registration = self._registration(
            urn, request, step=planned.step, id_=planned.id, inputs=planned.wire_inputs,
            outputs=struct_to_python(response_object), trigger=planned.trigger,
        )
        self.registrations.append(registration)
        self._by_urn[urn] = registration
        if self.on_register is not None:
            self.on_register(Sent(registration, request.object, response_object))
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=planned.id, object=response_object
        )

    def _outputs_for(
        self, prior: StoredResource | None, request: Any, step: Step
    ) -> tuple[str, dict[str, Any]]:
        if step == "same" and prior is not None:
            return prior.id, copy.deepcopy(prior.outputs)
        sdk_inputs = rpc.deserialize_properties(request.object)
        if step == "update" and prior is not None and request.type in tls.TLS_TYPES:
            # Known in a preview too: the provider plans the certificate it has.
            return prior.id, tls.updated_outputs(
                request.type, copy.deepcopy(prior.outputs), sdk_inputs)
        kept_id = prior.id if step == "update" and prior is not None else None
        if self.preview:
            # The engine previews a create/replace with inputs known and computed values not.
            echoed = _sdk_unknowns_to_sentinel(sdk_inputs)
            if request.type in tls.TLS_TYPES:
                return kept_id or "", tls.planned_outputs(request.type, echoed, rpc.UNKNOWN)
            return kept_id or "", echoed if request.custom else {}
        args = MockResourceArgs(
            typ=request.type, name=request.name, inputs=sdk_inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        )
        new_id, outputs = self.mocks.new_resource(args)
        return kept_id or new_id or "", dict(outputs)

    def _registration(
        self, urn: str, request: Any, *, step: Step, id_: str, inputs: dict[str, Any],
        outputs: dict[str, Any], trigger: Any,
    ) -> Registration:
        return Registration(
            type=request.type, name=request.name, urn=urn, custom=bool(request.custom),
            parent=request.parent, id=id_, step=step, inputs=inputs,
            outputs=outputs,
            dependencies=list(request.dependencies),
            property_dependencies=_property_dependencies(request),
            protect=_optional_bool(request, "protect"),
            replacement_trigger=trigger,
            additional_secret_outputs=list(request.additionalSecretOutputs),
            aliases=[from_wire(json_format.MessageToDict(a)) for a in request.aliases]
            + list(request.aliasURNs),
            provider=request.provider,
            replace_on_changes=list(request.replaceOnChanges),
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace
            if request.deleteBeforeReplaceDefined else None,
            retain_on_delete=_optional_bool(request, "retainOnDelete"),
            deleted_with=request.deletedWith,
            version=request.version,
            plugin_download_url=request.pluginDownloadURL,
        )


class _PrivateLoop:
    """An event loop of the monitor's own for its work on executor threads, closed with the run.

    The SDK's (de)serialisation needs a loop on the calling thread; the stock mock monitor
    leaves one per worker thread, unclosed, which leaks sockets once the run's loop is gone.
    One loop serves every thread in turn (callers hold the monitor's lock): a loop per call
    cost a socket pair each, ≈ 10 % of a run (docs/benchmarks.md).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, work: Callable[[], T]) -> T:
        if asyncio._get_running_loop() is not None:
            return work()
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            return work()
        finally:
            asyncio.set_event_loop(None)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None


# --- one run -------------------------------------------------------------------------------


@dataclass
class Recording:
    """Everything one run sent to the engine, in order, and the state diff it caused."""

    registrations: list[Registration]
    stack_outputs: dict[str, Any]
    stack_urn: str
    changes: Changes
    preview: bool
    # What the program logged at warning level or above (`pulumi.log.warn`), in order.
    warnings: list[str] = field(default_factory=list)

    def of_type(self, token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == token]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} registrations named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def __iter__(self) -> Iterator[Registration]:
        return iter(self.registrations)


def engine_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Config as the engine hands it to a program: strings as-is, everything else JSON
    (that is what `Config.get_object`/`get_int`/`get_bool` parse)."""
    return {key: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()}


class _NotAStack:
    """Placeholder root so `set_mocks` does not create (and finish) a Stack of its own."""


class _EngineLog(logging.Handler):
    """The engine's diagnostics stream: what the program logs through `pulumi.log`."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.logger = logging.Logger("pulumi-engine")  # unregistered: nothing propagates
        # The SDK logs debug lines per registration: dropped before a LogRecord is built.
        self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


def _configure(
    monitor: RecordingMonitor, config: Mapping[str, Any], secret_keys: Sequence[str], *,
    project: str, stack: str, preview: bool, log: _EngineLog, root_directory: Path,
) -> None:
    # set_mocks would register and finish a root Stack before the program runs, so exports
    # made by the program would never be sent; run_in_stack creates the real one instead.
    pulumi_settings.ROOT.set(cast(pulumi.Resource, _NotAStack()))
    set_mocks(
        monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor,
        logger=log.logger,
    )
    pulumi_settings.ROOT.set(None)
    pulumi_settings.SETTINGS.outputs.clear()
    # What the language host passes as the project root (where Pulumi.yaml is).
    pulumi_settings.SETTINGS.root_directory = str(root_directory)
    pulumi_config.set_all_config(engine_config(config), list(secret_keys))


def _in_fresh_loop(
    work: Callable[[], Awaitable[T]], failures: Sequence[tuple[str, Exception]] = ()
) -> T:
    """One event loop per run: tasks left behind by a failed run must not reach the next
    run's monitor (the SDK looks the monitor up when a task runs, not when it is created).
    The loop is closed afterwards, so none leaks into later tests."""
    loop = asyncio.new_event_loop()
    raised: list[BaseException] = []

    def report_once(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # A failed run raises its error to the caller, with the other registrations' errors
        # as notes (run_program). The SDK also set each on its resource's output futures,
        # which nothing awaits: collected later, at any point of whatever runs next, each
        # would be logged again as "exception was never retrieved".
        exception = context.get("exception")
        if not any(exception is err for err in [*raised, *(err for _, err in failures)]):
            loop.default_exception_handler(context)

    loop.set_exception_handler(report_once)
    asyncio.set_event_loop(loop)
    try:
        return _sync_await(work())
    except BaseException as err:
        raised.append(err)
        raise
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)


def _note_other_failures(
    raised: BaseException, failures: Sequence[tuple[str, Exception]]
) -> None:
    """The engine reports every resource that failed, not only the first: each other failed
    registration becomes a note on the error the run raises, in URN order (threads finish in
    any order)."""
    for urn, err in sorted(failures, key=lambda failure: failure[0]):
        if err is not raised:
            raised.add_note(f"also failed: {urn}: {type(err).__name__}: {err}")


def _yielding(program: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """`program`, then one pass of the event loop before the SDK's `wait_for_rpcs`.

    The program only queues its registrations; run synchronously, none has started when
    `wait_for_rpcs` first counts the outstanding RPCs, so it finds none and falls through to
    re-waiting on every pending Output after each completion: quadratic in the resource count
    (docs/benchmarks.md, F1). One yield lets every queued registration start and enter the
    RPC list, which the SDK then awaits one by one. `__main__.py` does the same under the
    engine (`pulumi.run`).
    """
    async def body() -> None:
        program()
        await asyncio.sleep(0)

    return body


def run_program(
    program: Callable[[], None], *, config: Mapping[str, Any] | None = None,
    secret_keys: Sequence[str] = (), project: str = "es-transport-pki", stack: str = "dev",
    preview: bool = False, state: EngineState | None = None, clock: Clock | None = None,
    root_directory: Path | None = None, on_register: Callable[[Sent], None] | None = None,
) -> Recording:
    """Run `program` as `pulumi up` (or `pulumi preview`) runs `__main__.py`.

    `config` keys are full keys ("es-transport-pki:clusters"). An exception raised by the
    program, or by a resource the emulator refuses to create, propagates unchanged; the state
    keeps what was created before it, and nothing is deleted (as with a failed `up`). So does
    `ProtectedResourceError` when the run would replace or delete a protected resource.
    `root_directory` is the project root the program sees (default: the working directory).
    `on_register` sees each registration, as `Sent`, as soon as it is recorded, in registration
    order (as the engine hands resources to a policy pack during a run); it runs under the
    monitor's lock, so it should only hand the registration on.
    """
    engine_state = state if state is not None else EngineState()
    monitor = RecordingMonitor(
        TlsMocks(clock, engine_state.stack_outputs), engine_state, preview=preview,
        on_register=on_register,
    )
    log = _EngineLog()
    _configure(
        monitor, config or {}, secret_keys, project=project, stack=stack, preview=preview,
        log=log, root_directory=root_directory or Path.cwd(),
    )
    try:
        _in_fresh_loop(lambda: run_in_stack(_yielding(program)), monitor.failures)
    except Exception as err:
        _note_other_failures(err, monitor.failures)
        raise
    finally:
        monitor.private_loop.close()
    registered = {r.urn for r in monitor.registrations} | monitor.aliased
    monitor.changes.deleted = engine_state.unregistered(registered)
    # Before any delete runs, in preview too: `pulumi preview` fails on a protected delete.
    engine_state.check_deletable(monitor.changes.deleted)
    if not preview:
        dynamic_providers.delete(engine_state.resources[u] for u in monitor.changes.deleted)
        engine_state.delete(monitor.changes.deleted)
        engine_state.stack_outputs = copy.deepcopy(monitor.stack_outputs)
    return Recording(
        registrations=list(monitor.registrations), stack_outputs=monitor.stack_outputs,
        stack_urn=monitor.stack_urn, changes=monitor.changes, preview=preview,
        warnings=log.warnings,
    )


# --- reading Outputs after a run ------------------------------------------------------------


@dataclass(frozen=True)
class Settled(Generic[T]):
    """An Output's final value, known-ness and secret-ness."""

    value: T | None
    known: bool
    secret: bool


def settle(output: pulumi.Output[T]) -> Settled[T]:
    """Read an Output captured during `run_program` (its futures are resolved by then)."""
    async def read() -> Settled[T]:
        value = await output.future(with_unknowns=True)
        known = await output.is_known()
        secret = await output.is_secret()
        return Settled(None if isinstance(value, SdkUnknown) else value, known, secret)

    return _in_fresh_loop(read)
