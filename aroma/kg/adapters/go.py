"""Gene Ontology OBO, parsed with obonet; stanzas are checked and errors name their line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from obonet.read import get_sections

from aroma.errors import SourceFormatError
from aroma.kg.readers import numbered_lines

# OBO relationship names kept in Path-KG, and the relationship type each becomes.
RELATION_TYPES = {
    "is_a": "IS_A",
    "part_of": "PART_OF",
    "regulates": "REGULATES",
    "positively_regulates": "POSITIVELY_REGULATES",
    "negatively_regulates": "NEGATIVELY_REGULATES",
}
NAMESPACES = {"biological_process", "molecular_function", "cellular_component"}
_DEF = re.compile(r'^"((?:[^"\\]|\\.)*)"')
_LINE = re.compile(r"^(?:[A-Za-z0-9_-]+:|\[[A-Za-z]+\]|!|\s*$)")  # tag-value pair, stanza header, comment, blank


@dataclass(frozen=True, slots=True)
class GoTerm:
    id: str
    name: str
    namespace: str
    definition: str
    alt_ids: tuple[str, ...]
    line: int


@dataclass
class GoOntology:
    version: str | None
    terms: list[GoTerm] = field(default_factory=list)
    # (child, relation type, parent, line of the child's stanza)
    relations: list[tuple[str, str, str, int]] = field(default_factory=list)
    obsolete: dict[str, int] = field(default_factory=dict)  # id -> line


class _StanzaLines:
    """Feeds obonet plain lines while remembering where each stanza starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line = 0
        self.term_lines: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for line, text in numbered_lines(self.path):
            self.line = line
            if not _LINE.match(text):
                raise SourceFormatError(self.path, line, f"malformed OBO: {_shown(text)!r} is not a 'tag: value' line")
            if text.startswith("[Term]"):
                self.term_lines.append(self.line)
            yield text + "\n"


def _shown(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_go(path: Path) -> GoOntology:
    lines = _StanzaLines(path)
    try:
        _typedefs, stanzas, _instances, header = get_sections(iter(lines))
    except SourceFormatError:
        raise
    except Exception as exc:  # obonet raises ValueError/AttributeError on malformed lines
        raise SourceFormatError(path, lines.line, f"malformed OBO: {exc}") from exc
    if header is None or "format-version" not in header:
        raise SourceFormatError(path, 1, "no OBO header (format-version) found")
    if not lines.term_lines:
        raise SourceFormatError(path, None, "no [Term] stanzas found: the file is empty or truncated; "
                                            "a source must yield rows")
    ontology = GoOntology(version=header.get("data-version"))
    for stanza, line in zip(stanzas, lines.term_lines, strict=True):
        _check_stanza(path, line, stanza)
        term_id = stanza["id"]
        if stanza.get("is_obsolete") == "true":
            ontology.obsolete[term_id] = line
            continue
        definition = _DEF.match(stanza.get("def", ""))
        ontology.terms.append(
            GoTerm(
                id=term_id,
                name=stanza["name"],
                namespace=stanza["namespace"],
                definition=definition.group(1) if definition else "",
                alt_ids=tuple(stanza.get("alt_id", [])),
                line=line,
            )
        )
        for parent in stanza.get("is_a", []):
            ontology.relations.append((term_id, "IS_A", parent.split()[0], line))
        for relationship in stanza.get("relationship", []):
            parts = relationship.split()
            if len(parts) < 2:
                raise SourceFormatError(path, line, f"relationship {relationship!r} lacks a target")
            if parts[0] in RELATION_TYPES:  # others (has_part, occurs_in, …) are not loaded
                ontology.relations.append((term_id, RELATION_TYPES[parts[0]], parts[1], line))
    return ontology


def _check_stanza(path: Path, line: int, stanza: dict) -> None:
    for tag in ("id", "name", "namespace"):
        if not isinstance(stanza.get(tag), str):
            raise SourceFormatError(path, line, f"[Term] stanza has no single '{tag}:' tag")
    if not stanza["id"].startswith("GO:"):
        raise SourceFormatError(path, line, f"[Term] id {stanza['id']!r} is not a GO identifier")
    if stanza["namespace"] not in NAMESPACES:
        raise SourceFormatError(path, line, f"unknown namespace {stanza['namespace']!r}")
