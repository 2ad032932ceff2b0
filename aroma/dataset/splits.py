"""Reading a PerturbReason dataset back: one split of its Hugging Face copy (``DIR/hf``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aroma.errors import AromaError


def open_split(data: Path, split: str) -> Any:
    """The ``datasets.Dataset`` of ``split``, or a clear error naming the directory and the splits it has."""
    from datasets import load_from_disk

    path = Path(data) / "hf"
    if not path.is_dir():
        raise AromaError(f"{data} is not a PerturbReason dataset (no hf/): run `aroma dataset generate` first")
    splits = load_from_disk(str(path))
    if split not in splits:
        raise AromaError(f"{data} has no {split!r} split (it has {', '.join(splits)})")
    return splits[split]
