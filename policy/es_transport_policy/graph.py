"""The stack as a dependency graph of plain resources (AnalyzeStack's view)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource

from .values import plain


@dataclass(frozen=True)
class Node:
    urn: str
    type: str
    name: str
    props: dict[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False

    def deps_of(self, prop: str) -> tuple[str, ...]:
        return self.property_dependencies.get(prop, ())

    def all_deps(self) -> set[str]:
        deps = set(self.dependencies)
        for urns in self.property_dependencies.values():
            deps.update(urns)
        return deps


class StackGraph:
    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes: dict[str, Node] = {n.urn: n for n in nodes}

    @classmethod
    def from_policy_resources(cls, resources: Sequence[PolicyResource]) -> StackGraph:
        return cls(
            Node(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                props=plain(r.props),
                parent=r.parent.urn if r.parent is not None else None,
                dependencies=tuple(d.urn for d in r.dependencies),
                property_dependencies={
                    k: tuple(d.urn for d in v) for k, v in r.property_dependencies.items()
                },
                protect=bool(r.opts.protect) if r.opts is not None else False,
            )
            for r in resources
        )

    def of_type(self, *types: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.type in types]

    def get(self, urn: str) -> Node | None:
        return self.nodes.get(urn)

    def reach(self, starts: Iterable[str], stop: frozenset[str] = frozenset()) -> set[str]:
        """`starts` and every resource they depend on, transitively; types in `stop` are
        included but not followed."""
        seen = set(starts)
        todo = list(seen)
        while todo:
            node = self.nodes.get(todo.pop())
            if node is None or node.type in stop:
                continue
            for dep in node.all_deps() - seen:
                seen.add(dep)
                todo.append(dep)
        return seen
