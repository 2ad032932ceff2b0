"""``aroma kg fetch``: download every source from its publisher (resumable), or copy it from a mirror."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)

from aroma.errors import AromaError
from aroma.kg.sources import MANIFEST, SOURCES, SourceFile, sha256_of

CHUNK = 1 << 20


def _copy(stream: BinaryIO, out: BinaryIO, advance) -> None:
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        out.write(chunk)
        advance(len(chunk))


def _download(url: str, part: Path, progress: Progress, task) -> None:
    """Fetch ``url`` into ``part``, resuming from its current size when the server honours Range."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "aroma-toolkit"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            resumed = offset and response.status == 206
            length = response.headers.get("Content-Length")
            progress.update(task, total=(int(length) + (offset if resumed else 0)) if length else None,
                            completed=offset if resumed else 0)
            with part.open("ab" if resumed else "wb") as out:
                _copy(response, out, lambda n: progress.advance(task, n))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # already complete
            return
        raise AromaError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise AromaError(f"downloading {url} failed: {exc}; rerun to resume ({part} kept)") from exc


def _from_mirror(mirror: Path, source: SourceFile, part: Path, progress: Progress, task) -> None:
    origin = mirror / source.path
    if not origin.is_file():
        raise AromaError(f"mirror {mirror} has no {source.path}")
    progress.update(task, total=origin.stat().st_size)
    with origin.open("rb") as stream, part.open("wb") as out:
        _copy(stream, out, lambda n: progress.advance(task, n))


def fetch(dest: Path, mirror: Path | None = None, keys: Iterable[str] | None = None,
          show_progress: bool = True) -> dict[str, dict[str, object]]:
    """Fill ``dest`` with the sources (all, or ``keys``) and record size and sha256 in MANIFEST.json."""
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    wanted = [s for s in SOURCES if keys is None or s.key in set(keys)]
    columns = (TextColumn("{task.description:<48}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress) as progress:
        for source in wanted:
            final = dest / source.path
            recorded = manifest.get(source.path, {})
            if final.is_file() and recorded.get("sha256") == sha256_of(final):
                continue  # already here and intact
            final.parent.mkdir(parents=True, exist_ok=True)
            part = final.with_name(final.name + ".part")
            task = progress.add_task(source.path, total=None)
            if mirror is not None:
                _from_mirror(mirror, source, part, progress, task)
            else:
                _download(source.url, part, progress, task)
            part.replace(final)
            manifest[source.path] = {"bytes": final.stat().st_size, "sha256": sha256_of(final), "url": source.url}
            manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest
