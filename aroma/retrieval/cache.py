"""Tables derived from a built graph (similarity profiles, outcome tables, complex terms), kept on disk and
keyed by the graph's build checksum, so that one pair's evidence does not re-read whole edge sets.

Where: ``DIR/cache/`` beside a local database directory, ``~/.aroma/cache/`` for a Neo4j URI (or
``$AROMA_CACHE``; ``AROMA_CACHE=off`` turns the cache off). Each build's entries live in
``<checksum>-<build time hash>-v<FORMAT>/`` (``retrieval/build_identity``): a rebuild gets a new directory,
so stale entries are never read; beside a local database, other builds' directories are removed when a
new one is made. Files are written to a temporary name and renamed,
so concurrent processes see a whole file or none, and a file that cannot be read is recomputed.
The cache holds only what the graph holds (training outcomes, never test labels).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aroma.kg.store import GraphStore

if TYPE_CHECKING:
    import numpy as np

FORMAT = 3  # bump when what is cached, or how it is computed, changes
ENV = "AROMA_CACHE"
OFF = {"0", "off", "no", "false"}

Arrays = dict[str, "np.ndarray"]


class DerivedCache:
    """Named arrays and JSON values computed from one build of the graph; ``directory`` None: no caching."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def of(cls, store: GraphStore) -> DerivedCache:
        """The cache of the graph ``store`` serves (disabled when the graph has no build checksum)."""
        setting = os.environ.get(ENV, "")
        if setting.lower() in OFF:
            return cls(None)
        rows = store.read("retrieval/build_identity")
        if not rows or not rows[0]["checksum"]:
            return cls(None)
        # the checksum names the inputs; the finishing time tells apart two builds of the same inputs (a
        # code change that keeps the counts alike would otherwise be answered from the old tables)
        built = hashlib.sha256(str(rows[0]["finished_at"]).encode()).hexdigest()[:8]
        server = getattr(store.backend, "server", None)
        local = server is not None and not setting
        root = Path(setting).expanduser() if setting else \
            server.directory / "cache" if local else Path("~/.aroma/cache").expanduser()
        directory = root / f"{rows[0]['checksum']}-{built}-v{FORMAT}"
        if local and not directory.is_dir():
            _prune(root, keep=directory.name)
        return cls(directory)

    def arrays(self, name: str, compute: Callable[[], Arrays], *, memory_map: bool = False) -> Arrays:
        """``name``'s arrays from disk, else computed and saved. ``memory_map``: kept as one ``.npy`` file per
        array and mapped read-only, so that reading a few rows of a large table reads only those."""
        import numpy as np

        if memory_map:
            return self._mapped_arrays(name, compute)
        path = self.directory / f"{name}.npz" if self.directory else None
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as stored:
                    return {key: stored[key] for key in stored.files}
            except (OSError, ValueError, KeyError):
                pass  # unreadable (removed meanwhile, or damaged): recompute
        value = compute()
        if path is not None:
            self._save(path, lambda handle: np.savez(handle, **value))
        return value

    def json(self, name: str, compute: Callable[[], Any]) -> Any:
        """``name``'s JSON value from disk, else computed and saved."""
        path = self.directory / f"{name}.json" if self.directory else None
        if path is not None and path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                pass
        value = compute()
        if path is not None:
            self._save(path, lambda handle: handle.write(json.dumps(value).encode("utf-8")))
        return value

    def _mapped_arrays(self, name: str, compute: Callable[[], Arrays]) -> Arrays:
        import numpy as np

        folder = self.directory / name if self.directory else None
        if folder is not None and folder.is_dir():  # made whole by one rename: present means complete
            try:
                return {path.stem: np.load(path, mmap_mode="r", allow_pickle=False) for path in folder.glob("*.npy")}
            except (OSError, ValueError):
                shutil.rmtree(folder, ignore_errors=True)  # unreadable: make way for the recomputed tables
        value = compute()
        if folder is not None:
            _save_folder(folder, value)
        return value

    @staticmethod
    def _save(path: Path, write: Callable[[Any], Any]) -> None:
        """Write through a temporary file renamed into place; a cache that cannot be written is skipped."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
                write(handle)
            os.replace(handle.name, path)
        except OSError:
            try:
                os.unlink(handle.name)
            except (OSError, UnboundLocalError):
                pass


@contextmanager
def atomic_folder(folder: Path) -> Iterator[Path | None]:
    """A staging folder beside ``folder`` to write into, renamed into place when the block ends without an error,
    so concurrent processes see a whole folder or none; None (write nothing) where the cache cannot be written.
    Another process that saved the same folder first wins."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    except OSError:
        yield None
        return
    try:
        yield staging
        os.replace(staging, folder)
    except OSError:
        pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _save_folder(folder: Path, arrays: Arrays) -> None:
    """One ``.npy`` per array, written into a staging folder renamed into place."""
    import numpy as np

    with atomic_folder(folder) as staging:
        if staging is not None:
            for key, array in arrays.items():
                np.save(staging / f"{key}.npy", array, allow_pickle=False)


def _prune(root: Path, keep: str) -> None:
    """Remove cache directories of other builds (best effort: another process may be doing the same)."""
    if root.is_dir():
        for entry in root.iterdir():
            if entry.name != keep and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
