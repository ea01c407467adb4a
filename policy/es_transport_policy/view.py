"""What a resource rule receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceView:
    """One resource's inputs as a resource policy sees them (plain values, UNKNOWN marked)."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
