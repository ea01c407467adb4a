"""Feed a recorded program run to the policy pack, as the engine does at `pulumi preview`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.analyzer import DEFAULT_PACK, UNKNOWN, Diagnostic, PolicyAnalyzer, Record, secret
from harness.mock_runtime import Recording, Registration, Secret, Unknown


def to_wire(value: Any) -> Any:
    """The engine's encoding of a recorded value: `Secret` → secret signature, unknowns → the
    unknown sentinel (the inverse of `harness.mock_runtime.from_wire`)."""
    if isinstance(value, Secret):
        return secret(to_wire(value.value))
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


def to_record(registration: Registration) -> Record:
    return Record(
        type=registration.type,
        name=registration.name,
        urn=registration.urn,
        properties=to_wire(registration.inputs),
        parent=registration.parent,
        dependencies=tuple(registration.dependencies),
        property_dependencies=registration.property_dependencies,
        outputs=to_wire(registration.outputs) if registration.custom else None,
        protect=bool(registration.protect),
    )


def records_of(recording: Recording) -> list[Record]:
    return [to_record(r) for r in recording.registrations]


def run_policies(
    records: Sequence[Record], *, stack: str, config: Mapping[str, Any] | None = None,
    pack_dir: Path = DEFAULT_PACK,
) -> list[Diagnostic]:
    """Analyze every resource, then the stack, in one pack process (one `pulumi preview`)."""
    with PolicyAnalyzer(pack_dir, stack=stack) as analyzer:
        analyzer.handshake()
        analyzer.configure_stack()
        analyzer.configure(config or {})
        return analyzer.preview(records)
