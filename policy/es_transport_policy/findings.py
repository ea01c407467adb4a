"""What a rule returns: findings with their grade, independent of pulumi-policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Grade(Enum):
    """`BLOCKING` findings go to a family's primary policy (mandatory unless configured
    otherwise, waivable); `NOTICE` findings go to its `-advisory` companion."""

    BLOCKING = "blocking"
    NOTICE = "notice"


@dataclass(frozen=True)
class Finding:
    """One violation: what is wrong, why it matters and how to fix it, on one resource."""

    invariant: str
    what: str
    why: str
    fix: str
    urn: str
    grade: Grade = Grade.BLOCKING
    # False: outside what a waiver of the policy is for (`Family.waiver_scope`): it stays
    # mandatory under a waiver of its resource.
    waivable: bool = True

    @property
    def message(self) -> str:
        return f"[{self.invariant}] {self.what}\nWhy: {self.why}\nFix: {self.fix}"


def resource_name(urn: str) -> str:
    """The resource name is the part of a URN after the last `::`."""
    return urn.rsplit("::", 1)[-1]
