"""The engine's side of dynamic providers (`pulumi-python:dynamic*`) for the mock runtime.

Under `set_mocks` a dynamic resource is only echoed: nothing is written, nothing computed. The
engine instead loads the provider from the `__provider` input (dill + base64, as
`pulumi/dynamic/__main__.py` does) and calls check, then diff against the stored outputs, then
create / update / replace / delete. This module does the same against `EngineState`:

* the provider sees plain values (the dynamic provider host tells the engine it does not accept
  secrets, so the engine strips them) and, in check/diff, SDK `Unknown`s at preview;
* outputs whose input of the same name was secret come back secret (the engine's
  `annotateSecrets` for such providers); the monitor then applies `additionalSecretOutputs`;
* preview calls check and diff only: a provider never writes during a preview;
* a replacement creates the new resource, then deletes the old one, unless the diff (or the
  resource's `deleteBeforeReplace`) asks for the reverse order.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pulumi.dynamic import ResourceProvider
from pulumi.output import Unknown as SdkUnknown
from pulumi.runtime import rpc

from harness import tls_emulator as tls

if TYPE_CHECKING:
    from harness.mock_runtime import EngineState, StoredResource

DYNAMIC_PREFIX = "pulumi-python:dynamic"
PROVIDER_KEY = "__provider"
Step = Literal["create", "same", "update", "replace"]

# dill ships no type information; it is what the dynamic-provider host uses.
_dill: Any = importlib.import_module("dill")


class DynamicCheckError(Exception):
    """The provider's `check` refused the inputs (the engine fails the resource the same way)."""


def is_dynamic(type_: str) -> bool:
    return type_.startswith(DYNAMIC_PREFIX)


def plain(value: Any) -> Any:
    """`value` with every secret wrapper removed, at any depth."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load_provider(blob: Any) -> ResourceProvider:
    provider = _dill.loads(base64.b64decode(plain(blob)))
    if not isinstance(provider, ResourceProvider):
        raise TypeError(f"{PROVIDER_KEY} holds a {type(provider).__name__}, not a provider")
    return provider


@dataclass(frozen=True)
class Outcome:
    step: Step
    id: str
    outputs: dict[str, Any]  # SDK form: secret signatures where the engine would put them


def register(
    urn: str,
    sdk_inputs: Mapping[str, Any],
    prior: StoredResource | None,
    planned: Step,
    *,
    preview: bool,
    delete_before_replace: bool = False,
) -> Outcome:
    """One registration of a dynamic resource. `sdk_inputs` as `rpc.deserialize_properties(...,
    keep_unknowns=True)` gives them; `planned` is the monitor's step from inputs and the
    replacement trigger ("create"/"replace" stand; otherwise the provider's diff decides)."""
    secret_keys = {k for k, v in sdk_inputs.items() if rpc.is_rpc_secret(v)}
    news = plain(dict(sdk_inputs))
    olds_outputs = plain(prior.outputs) if prior is not None else {}
    blob = news[PROVIDER_KEY]
    provider = load_provider(olds_outputs[PROVIDER_KEY] if _unknown(blob) else blob)
    checked = provider.check(plain(prior.inputs) if prior is not None else {}, news)
    if checked.failures:
        reasons = "; ".join(f"{f.property}: {f.reason}" for f in checked.failures)
        raise DynamicCheckError(f"{urn}: check failed: {reasons}")
    news = {**(checked.inputs or {}), PROVIDER_KEY: blob}
    step, delete_first = planned, delete_before_replace
    if prior is not None and planned in ("same", "update"):
        diff = provider.diff(prior.id, olds_outputs, news)
        if diff.changes is False:
            step = "same"
        elif diff.replaces:
            step, delete_first = "replace", delete_first or bool(diff.delete_before_replace)
        elif diff.changes:
            step = "update"
    if step == "same" and prior is not None:
        return Outcome(step, prior.id, copy.deepcopy(prior.outputs))
    if preview:
        # Like the engine: a planned create/update shows its inputs, computed values unknown.
        return Outcome(step, prior.id if prior and step == "update" else "", dict(sdk_inputs))
    if step == "update" and prior is not None:
        outs = provider.update(prior.id, olds_outputs, news).outs or {}
        return Outcome(step, prior.id, _annotated(outs, blob, secret_keys))
    if step == "replace" and prior is not None and delete_first:
        provider.delete(prior.id, olds_outputs)
    created = provider.create(news)
    if step == "replace" and prior is not None and not delete_first:
        provider.delete(prior.id, olds_outputs)
    return Outcome(step, created.id, _annotated(created.outs or {}, blob, secret_keys))


def _unknown(value: Any) -> bool:
    return isinstance(value, SdkUnknown) or value == rpc.UNKNOWN


def _annotated(outs: Mapping[str, Any], blob: Any, secret_keys: set[str]) -> dict[str, Any]:
    """The provider's outputs plus `__provider`, secret where the same-named input was."""
    values = {**outs, PROVIDER_KEY: blob}
    return {k: tls.wrap_secret(v) if k in secret_keys else v for k, v in values.items()}


def delete(resources: Iterable[StoredResource]) -> None:
    """`provider.delete` for the dynamic resources among `resources` (dependents first: pass
    them in registration order, they are deleted in reverse)."""
    for resource in reversed(list(resources)):
        if is_dynamic(resource.type):
            outputs = plain(resource.outputs)
            load_provider(outputs[PROVIDER_KEY]).delete(resource.id, outputs)


def refresh(state: EngineState) -> list[str]:
    """`pulumi refresh` for dynamic resources: `provider.read` replaces the stored outputs
    (secret outputs stay secret). Returns the URNs whose outputs changed."""
    changed: list[str] = []
    for urn, resource in list(state.resources.items()):
        if not is_dynamic(resource.type):
            continue
        outputs = plain(resource.outputs)
        read = load_provider(outputs[PROVIDER_KEY]).read(resource.id, outputs)
        secret = {k for k, v in resource.outputs.items() if rpc.is_rpc_secret(v)}
        fresh = {k: tls.wrap_secret(v) if k in secret else v for k, v in (read.outs or {}).items()}
        fresh.setdefault(PROVIDER_KEY, resource.outputs[PROVIDER_KEY])
        if plain(fresh) != outputs:
            changed.append(urn)
        state.store(urn, dataclasses.replace(resource, id=read.id or resource.id, outputs=fresh))
    return changed
