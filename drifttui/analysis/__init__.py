"""Analysts explain drift: Claude (``claude.py``) when a key is set, deterministic rules
(``offline.py``) otherwise and as Claude's fallback. Both read only redacted findings
(``redact.py``); verdicts are cached (``cache.py``); ``render.py`` turns an analysis into a log
line, a Markdown pane or a report block.

Importing this package does not import the ``anthropic`` SDK (that happens on the first call).

Typical use (CLI ``--analyze``, the TUI's ``c`` key, the headless service)::

    analyst = build_analyst(settings.claude_api_key and settings.claude_api_key.reveal(),
                            settings.claude_model, cache_dir=data_dir() / "cache",
                            environments=settings.environments, prices=settings.prices,
                            known_secrets=[settings.cub_token.reveal()] if settings.cub_token
                            else ())
    analysis = analyst.analyze(items)     # never raises for API failures
    log(summary_line(analysis))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from drifttui.analysis.cache import VerdictCache
from drifttui.analysis.claude import DEFAULT_MODEL, PROMPT_VERSION, ClaudeAnalyst
from drifttui.analysis.offline import OfflineAnalyst
from drifttui.analysis.protocol import Action, Analysis, Analyst, Risk, Verdict
from drifttui.analysis.redact import findings_for_analysis
from drifttui.analysis.render import (
    analysis_markdown,
    analysis_to_dict,
    summary_line,
    verdict_to_dict,
)
from drifttui.core.cost import DEFAULT_PRICES
from drifttui.core.models import Environment, Prices

__all__ = [
    "DEFAULT_MODEL",
    "PROMPT_VERSION",
    "Action",
    "Analysis",
    "Analyst",
    "ClaudeAnalyst",
    "OfflineAnalyst",
    "Risk",
    "Verdict",
    "VerdictCache",
    "analysis_markdown",
    "analysis_to_dict",
    "build_analyst",
    "findings_for_analysis",
    "summary_line",
    "verdict_to_dict",
]


def build_analyst(
    api_key: str | None,
    model: str,
    *,
    cache_dir: Path | None = None,
    timeout_s: float = 60,
    max_retries: int = 2,
    log: Callable[[str], None] | None = None,
    base_url: str | None = None,
    environments: Sequence[Environment] = (),
    prices: Prices = DEFAULT_PRICES,
    known_secrets: Iterable[str | None] = (),
) -> Analyst:
    """:class:`ClaudeAnalyst` when ``api_key`` is given (CLAUDE_API_KEY or
    ANTHROPIC_API_KEY, resolved by the settings), else :class:`OfflineAnalyst`.

    ``model`` empty means :data:`DEFAULT_MODEL`. ``base_url`` None lets the SDK read
    ``ANTHROPIC_BASE_URL``. ``cache_dir`` keeps verdicts on disk between runs.
    ``environments`` say which are production; ``known_secrets`` (the hub token...) are masked
    everywhere and never sent.
    """
    secrets = tuple(s for s in known_secrets if s)
    if api_key:
        return ClaudeAnalyst(
            api_key,
            model or DEFAULT_MODEL,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            cache_dir=cache_dir,
            log=log,
            environments=environments,
            prices=prices,
            known_secrets=secrets,
        )
    return OfflineAnalyst(environments=tuple(environments), prices=prices, known_secrets=secrets)
