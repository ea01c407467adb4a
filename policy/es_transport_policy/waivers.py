"""Named, dated waivers: one BLOCKING finding on one resource becomes advisory until `expires`.

A waiver sits in the config of the policy it waives (`--policy-pack-config`):

    "es-transport-mtls": {"waivers": [{"urn": "...", "reason": "...", "expires": "2027-01-31"}]}

`urn` matches a resource URN exactly, `name` matches the resource name (last URN segment). A
waiver is valid through its `expires` date (UTC). An expired waiver no longer applies: the
finding stays mandatory and its message names the expired waiver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from .findings import resource_name

WAIVERS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Named exceptions: each turns this policy's violation on one resource "
    "advisory until `expires` (YYYY-MM-DD, UTC, inclusive).",
    "items": {
        "type": "object",
        "properties": {
            "urn": {"type": "string"},
            "name": {"type": "string"},
            "reason": {"type": "string", "minLength": 1},
            "expires": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        },
        "required": ["reason", "expires"],
        "anyOf": [{"required": ["urn"]}, {"required": ["name"]}],
        "additionalProperties": False,
    },
    "default": [],
}


@dataclass(frozen=True)
class Waiver:
    urn: str | None
    name: str | None
    reason: str
    expires: date

    def matches(self, urn: str) -> bool:
        return urn == self.urn or resource_name(urn) == self.name

    def expired(self, today: date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        target = self.urn or self.name
        return f"waiver for {target!r} (reason: {self.reason}; expires {self.expires})"


def parse_waivers(config: Mapping[str, Any]) -> tuple[Waiver, ...]:
    """Waivers from a policy's config; the engine has validated them against the schema."""
    raw = config.get("waivers") or []
    waivers: list[Waiver] = []
    for entry in raw if isinstance(raw, Sequence) else []:
        if not isinstance(entry, Mapping):
            continue
        waivers.append(
            Waiver(
                urn=entry.get("urn"),
                name=entry.get("name"),
                reason=str(entry.get("reason", "")),
                expires=date.fromisoformat(str(entry["expires"])),
            )
        )
    return tuple(waivers)


def today() -> date:
    return datetime.now(UTC).date()


def find_waiver(waivers: Sequence[Waiver], urn: str) -> Waiver | None:
    """The waiver for `urn` that is still valid, else an expired one, else None."""
    matching = [w for w in waivers if w.matches(urn)]
    valid = [w for w in matching if not w.expired(today())]
    return next(iter(valid or matching), None)
