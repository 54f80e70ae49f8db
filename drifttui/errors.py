"""Typed errors: one line each, saying what failed, where, and what to do next.

Every error the user can cause (bad input, unreachable cluster, rejected token, API error)
is a :class:`DrifttuiError`. The CLI prints ``str(error)`` on one line and exits 2; the TUI
shows it as a notification and keeps running. Nothing here may hold a token or a Secret value.
"""

from __future__ import annotations

import re

# scheme://user:password@host: the user-info part of a URL is a credential
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def redact_url(text: str) -> str:
    """``text`` with the user-info of every URL in it (``user:password@``) shown as ``***@``."""
    return _URL_USERINFO.sub(r"\1***@", text)


class DrifttuiError(Exception):
    """Base of every user-facing error.

    ``what`` says what failed, ``where`` names the file/space/cluster/object, ``hint`` says
    what to do next. ``str()`` joins them into one line.
    """

    exit_code = 2

    def __init__(self, what: str, where: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.hint:
            text = f"{text}; {self.hint}"
        return redact_url(" ".join(text.split()))  # always one line, no URL password

    def __str__(self) -> str:
        return self.line()


class InputError(DrifttuiError):
    """A file or document the user gave us cannot be used."""


class ConfigError(DrifttuiError):
    """Settings, flags or the config file are wrong."""


class HubError(DrifttuiError):
    """ConfigHub (real or embedded) refused or failed a request.

    ``status`` is the HTTP status when there is one (the embedded hub uses the same codes).
    """

    def __init__(
        self,
        what: str,
        where: str | None = None,
        hint: str | None = None,
        *,
        status: int | None = None,
    ) -> None:
        self.status = status
        super().__init__(what, where, hint)


class NotFoundError(HubError):
    """The space, unit, revision, filter or set does not exist (HTTP 404)."""

    def __init__(self, what: str, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what, where, hint, status=404)


class ConflictError(HubError):
    """Changed since read, or already exists (HTTP 409)."""

    def __init__(self, what: str, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what, where, hint, status=409)


class AuthError(HubError):
    """The token was rejected (HTTP 401/403)."""


class WhereClauseError(HubError):
    """A where-clause does not parse; ``position`` is the 0-based character offset."""

    def __init__(self, what: str, position: int, clause: str | None = None) -> None:
        self.position = position
        self.clause = clause
        super().__init__(f"{what} at position {position}", "where-clause", status=400)


class ClusterError(DrifttuiError):
    """The Kubernetes API could not be reached or refused a request."""


class AnalysisError(DrifttuiError):
    """The analyst (Claude) failed; callers fall back to the offline analyst."""
