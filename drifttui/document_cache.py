"""Objects parsed from unit data, kept in a file between runs.

Reading a space means parsing each unit's YAML, and PyYAML takes about 0.7 ms for a
typical Deployment: 3.5 s for 5,000 units, most of a ``--once`` run. Units change rarely, so
the parsed object is kept by the SHA-256 of the exact text it came from and read back as
JSON (about 25 times faster) on the next run. A changed unit has a new hash, so a stale
entry can never be used; entries not used for a while fall off the end (``max_entries``).

Secret manifests are never kept: their values would land on disk outside the hub. The file
(``documents-v1.jsonl`` in the data directory's ``cache/``, mode 0600) is a cache: a
damaged or unwritable one is ignored and rebuilt, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drifttui.hub.documents import document_json

log = logging.getLogger(__name__)

FILE_NAME = "documents-v1.jsonl"
_HEADER = "drifttui documents v1\n"


def _digest(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


def _object(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


class DocumentFileCache:
    """``get(data)`` / ``put(data, obj)`` for the engine, ``save()`` when the run ends.

    ``stored(digest)``, when given, is asked first: the object parsed from the data with
    that SHA-256 (a fresh one, the caller's), kept by the hub itself (the embedded hub keeps
    one for every unit it validated when it was written), or None. A first run on a machine
    then parses no YAML either, and the file is not even read.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_entries: int = 50_000,
        stored: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> None:
        self.path = path
        self.max_entries = max_entries
        self.stored = stored
        self.stored_hits = 0
        self._lock = threading.Lock()
        self._entries: dict[str, str] | None = None  # digest -> JSON text, newest last
        self._used: dict[str, None] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0

    def _loaded(self) -> dict[str, str]:
        if self._entries is None:
            entries: dict[str, str] = {}
            try:
                with open(self.path, encoding="utf-8") as f:
                    if f.readline() == _HEADER:
                        for line in f:
                            digest, sep, text = line.rstrip("\n").partition("\t")
                            if sep and len(digest) == 64:
                                entries[digest] = text
            except (OSError, UnicodeDecodeError) as exc:
                if not isinstance(exc, FileNotFoundError):
                    log.debug("document cache not read: %s", type(exc).__name__)
            self._entries = entries
        return self._entries

    def get(self, data: str) -> dict[str, Any] | None:
        """A fresh copy of the object parsed from ``data`` before, or None."""
        digest = _digest(data)
        stored = self.stored(digest) if self.stored is not None else None
        if stored is not None:
            with self._lock:
                self.stored_hits += 1
            return stored
        with self._lock:
            text = self._loaded().get(digest)
            if text is None:
                self.misses += 1
                return None
            self._used[digest] = None
            self.hits += 1
        return _object(text)

    def put(self, data: str, obj: dict[str, Any]) -> None:
        """Keep ``obj`` (just parsed from ``data``, not yet changed) for the next run."""
        text = document_json(obj)  # None: a Secret, or not JSON's (parse it next time)
        if text is None:
            return
        digest = _digest(data)
        with self._lock:
            self._loaded()[digest] = text
            self._used[digest] = None
            self._dirty = True

    def save(self) -> None:
        """Write the file if anything new was parsed; entries used in this run go last (the
        newest), the oldest beyond ``max_entries`` are dropped."""
        with self._lock:
            if not self._dirty or self._entries is None:
                return
            entries = self._entries
            order = [d for d in entries if d not in self._used] + [
                d for d in self._used if d in entries
            ]
            keep = order[-self.max_entries :]
            lines = [_HEADER, *(f"{d}\t{entries[d]}\n" for d in keep)]
            self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".documents-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.writelines(lines)
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            log.debug("document cache not written: %s", type(exc).__name__)
