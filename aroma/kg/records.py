"""Plain records that flow from source adapters to the graph store (BioCypher style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def present(properties: dict[str, Any]) -> dict[str, Any]:
    """The properties that have a value: a null is left out of the graph, not stored."""
    return {key: value for key, value in properties.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Node:
    """A graph node: a unique id (e.g. ``ncbigene:7157``), its label and properties."""

    id: str
    label: str
    properties: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """What a loader receives: the id and the properties that have a value."""
        return {"id": self.id, **present(self.properties)}


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed relationship between two node ids, with the labels of both ends."""

    source: str
    target: str
    type: str
    source_label: str
    target_label: str
    properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: tuple[str, str, str], source: str, target: str,
           properties: dict[str, Any] | None = None) -> Edge:
        """An edge of ``kind`` = (source label, type, target label)."""
        return cls(source, target, kind[1], kind[0], kind[2], properties or {})

    @property
    def kind(self) -> tuple[str, str, str]:
        return (self.source_label, self.type, self.target_label)

    def row(self) -> dict[str, Any]:
        """What a loader receives: both ends' ids and the properties that have a value."""
        return {"source": self.source, "target": self.target, **present(self.properties)}
