"""Verdict cache: the same drift gets the same verdict, and costs no second call.

Keys are hashes of (finding fingerprint, redacted finding, model, prompt version): a verdict is
reused only for the same drift (values and context) asked of the same model with the same
prompt. Entries live in memory for the process and, with a directory, in one JSON file
(``analysis-cache.json``) so repeated ``--once`` runs are reproducible and cheap. The file is
written atomically, readable only by its owner, bounded in size (oldest entries go first);
an unreadable file is ignored (and replaced on the next write), never an error. It holds
verdicts and summaries, which are made from redacted findings only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from drifttui.analysis.protocol import Action, Risk, Verdict
from drifttui.core.models import JSON, stable_hash

FILE_NAME = "analysis-cache.json"
FORMAT_VERSION = 1
DEFAULT_MAX_ENTRIES = 20_000

_log = logging.getLogger(__name__)


def cache_key(fingerprint: str, payload: JSON, model: str, prompt_version: str) -> str:
    """Cache key of one finding's verdict."""
    return stable_hash(fingerprint, payload, model, prompt_version, length=32)


def verdict_to_json(v: Verdict) -> dict[str, JSON]:
    return {
        "finding_id": v.finding_id,
        "cause": v.cause,
        "risk": str(v.risk),
        "action": str(v.action),
        "confidence": v.confidence,
        "reason": v.reason,
        "monthly_cost_usd": v.monthly_cost_usd,
    }


def verdict_from_json(raw: Any) -> Verdict | None:
    """A verdict from its cached form; None if the entry is damaged."""
    if not isinstance(raw, Mapping):
        return None
    try:
        cost = raw.get("monthly_cost_usd")
        confidence = float(raw["confidence"])
        if cost is not None:
            cost = float(cost)
            if not math.isfinite(cost):
                return None
        if not 0.0 <= confidence <= 1.0:
            return None
        return Verdict(
            finding_id=str(raw["finding_id"]),
            cause=str(raw["cause"]),
            risk=Risk(raw["risk"]),
            action=Action(raw["action"]),
            confidence=confidence,
            reason=str(raw["reason"]),
            monthly_cost_usd=cost,
        )
    except (KeyError, TypeError, ValueError):
        return None


class VerdictCache:
    """In-memory verdict and summary cache, optionally backed by ``directory``/analysis-cache.json.

    Thread-safe. ``save()`` writes the file when something changed (the analyst calls it after
    each analysis).
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(directory) / FILE_NAME if directory is not None else None
        self.max_entries = max_entries
        self._log = log if log is not None else _log.info
        self._lock = threading.Lock()
        self._verdicts: dict[str, dict[str, JSON]] = {}
        self._summaries: dict[str, str] = {}
        self._dirty = False
        self._loaded = False

    # -- file

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise ValueError("unknown format")
            verdicts = data.get("verdicts") or {}
            summaries = data.get("summaries") or {}
            if not isinstance(verdicts, dict) or not isinstance(summaries, dict):
                raise ValueError("unknown format")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not a drifttui cache"
            self._log(f"analysis cache {self.path} ignored ({reason}); starting afresh")
            return
        self._verdicts = {str(k): v for k, v in verdicts.items() if isinstance(v, dict)}
        self._summaries = {str(k): v for k, v in summaries.items() if isinstance(v, str)}

    def save(self) -> None:
        """Write the file if anything changed (atomic replace, mode 0600)."""
        with self._lock:
            if self.path is None or not self._dirty:
                return
            data = {
                "version": FORMAT_VERSION,
                "verdicts": self._verdicts,
                "summaries": self._summaries,
            }
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".analysis-cache.")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        json.dump(data, fh, sort_keys=True, separators=(",", ":"))
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            except OSError as exc:
                self._log(f"analysis cache {self.path} not written ({exc.strerror})")
                return
            self._dirty = False

    # -- entries

    def _trim(self) -> None:
        for store in (self._verdicts, self._summaries):
            while len(store) > self.max_entries:
                del store[next(iter(store))]

    def get(self, key: str) -> Verdict | None:
        with self._lock:
            self._load()
            raw = self._verdicts.get(key)
        return verdict_from_json(raw) if raw is not None else None

    def put(self, key: str, verdict: Verdict) -> None:
        with self._lock:
            self._load()
            self._verdicts.pop(key, None)  # re-insert: newest last
            self._verdicts[key] = verdict_to_json(verdict)
            self._trim()
            self._dirty = True

    def get_summary(self, key: str) -> str | None:
        with self._lock:
            self._load()
            return self._summaries.get(key)

    def put_summary(self, key: str, summary: str) -> None:
        with self._lock:
            self._load()
            self._summaries.pop(key, None)
            self._summaries[key] = summary
            self._trim()
            self._dirty = True

    def __len__(self) -> int:
        with self._lock:
            self._load()
            return len(self._verdicts)
