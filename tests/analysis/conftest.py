from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drifttui.analysis.claude import ClaudeAnalyst
from tests.analysis.messages_api import MessagesAPI

API_KEY = "sk-ant-test-key-0123456789"


@pytest.fixture
def messages_api() -> Iterator[MessagesAPI]:
    api = MessagesAPI().start()
    yield api
    api.stop()
    for body in api.bodies:  # whatever the test, the key never travels in a body
        assert API_KEY not in body


@pytest.fixture
def claude(messages_api: MessagesAPI) -> Callable[..., ClaudeAnalyst]:
    """A ClaudeAnalyst on the local endpoint, with tiny timeouts and retries."""

    def make(**kw: Any) -> ClaudeAnalyst:
        kw.setdefault("base_url", messages_api.url)
        kw.setdefault("timeout_s", 5.0)
        kw.setdefault("max_retries", 1)
        return ClaudeAnalyst(kw.pop("api_key", API_KEY), kw.pop("model", "claude-test-1"), **kw)

    return make


@pytest.fixture
def log_lines() -> list[str]:
    return []


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
