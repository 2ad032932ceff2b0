"""Evidence as JSON text for many pairs: the same bytes as ``json.dumps(evidence.to_dict(), sort_keys=True,
ensure_ascii=False)``, with each gene's facts (shared by all its pairs) encoded once."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from aroma.retrieval.evidence import GeneFacts, GenePath, PairEvidence, _plain

_dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode  # json.dumps(…, sort_keys=True, ensure_ascii=False)
_PAIR_FIELDS = sorted(f.name for f in fields(PairEvidence))


class _ByIdentity:
    """JSON text of objects seen before, keyed by identity (the objects are kept, so ids are not reused);
    emptied when it grows past ``limit`` entries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._text: dict[int, tuple[Any, str]] = {}

    def __call__(self, value: Any) -> str:
        known = self._text.get(id(value))
        if known is not None:
            return known[1]
        if len(self._text) >= self.limit:
            self._text.clear()
        text = _dumps(_plain(value))
        self._text[id(value)] = (value, text)
        return text


class EvidenceJson:
    """``encode(evidence)`` equals ``json.dumps(evidence.to_dict(), sort_keys=True, ensure_ascii=False)``."""

    def __init__(self, limit: int = 100_000) -> None:
        self._facts = _ByIdentity(limit)

    def encode(self, evidence: PairEvidence) -> str:
        return _object((name, self._field(name, getattr(evidence, name))) for name in _PAIR_FIELDS)

    def _field(self, name: str, value: Any) -> str:
        if isinstance(value, GeneFacts):
            return self._facts(value)
        if name == "paths":
            return _array(_path(path) for path in value)
        return _dumps(_plain(value))


def _path(path: GenePath) -> str:
    data = _plain(path)
    data["strength"] = path.strength
    return _dumps(data)


def _object(items: Any) -> str:
    """A JSON object from (key, JSON text) pairs already in key order, spaced like ``json.dumps``."""
    return "{" + ", ".join(f"{_dumps(key)}: {text}" for key, text in items) + "}"


def _array(texts: Any) -> str:
    return "[" + ", ".join(texts) + "]"
