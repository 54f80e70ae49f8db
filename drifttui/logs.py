"""Logging for headless runs: the seed's line style or JSON, with secrets scrubbed.

Text lines look like the seed's detector::

    [drifttui] 2026/11/25 12:16:15 ⚠️  DRIFT DETECTED: backend-api has 5 replicas, expected 3

``--log-format json`` gives one JSON object per line (time, level, logger, message, and the
``environment``/``resource`` extras when set). A :class:`RedactingFilter` on the handler
replaces every registered secret (tokens, keys) and anything shaped like a bearer token
before a record is written, whatever logger produced it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, TextIO

from drifttui.errors import redact_url

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_KEYISH = re.compile(r"\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{16,})\b")


class RedactingFilter(logging.Filter):
    """Replace known secret values and token-shaped strings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for s in secrets:
            if s in text:
                text = text.replace(s, "***")
        text = redact_url(_BEARER.sub(r"\1***", text))
        return _KEYISH.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = self.scrub(message)
        if clean != message or record.args:
            record.msg = clean
            record.args = None
        if record.exc_info:
            # tracebacks can carry request headers: keep the type, drop the text
            exc = record.exc_info[1]
            record.msg = f"{record.msg} ({type(exc).__name__})"
            record.exc_info = None
            record.exc_text = None
        return True


class SeedFormatter(logging.Formatter):
    """``[drifttui] YYYY/MM/DD HH:MM:SS message`` (UTC)."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self, prefix: str = "drifttui") -> None:
        super().__init__(f"[{prefix}] %(asctime)s %(message)s", datefmt="%Y/%m/%d %H:%M:%S")


class JsonFormatter(logging.Formatter):
    converter = time.gmtime  # type: ignore[assignment]

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for extra in ("environment", "resource", "event", "finding"):
            value = getattr(record, extra, None)
            if value is not None:
                out[extra] = value
        return json.dumps(out, ensure_ascii=False)


def setup_logging(
    fmt: str = "text",
    *,
    verbose: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> RedactingFilter:
    """Configure the root logger for a headless run; returns the redaction filter so more
    secrets can be registered later."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else SeedFormatter())
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "urllib3", "kubernetes", "anthropic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # urllib3 warns once per retried request ("Retrying (Retry(total=1, ...)) after
    # connection broken by ..."): an unreachable cluster gave a dozen such lines before our
    # own one-line error, which already says what failed. -v shows them.
    logging.getLogger("urllib3").setLevel(logging.WARNING if verbose else logging.ERROR)
    return redactor
