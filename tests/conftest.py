from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory) -> os.PathLike[str]:
    """A fresh HOME for CLI runs (the embedded hub lives under it)."""
    return tmp_path_factory.mktemp("home")
