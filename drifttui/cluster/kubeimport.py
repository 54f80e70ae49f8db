"""Import the official ``kubernetes`` client without the parts drifttui never calls.

``import kubernetes`` runs the package's ``__init__``, which imports every part of the
client (the dynamic client, websocket streams, informers, leader election, ...), and
``kubernetes.config`` imports ``requests_oauthlib`` (with ``requests``) and ``oauthlib`` for
one rare path, refreshing an expired OIDC token. Together that is about 75 ms of a
``--once`` whose target is 500 (bench/results-perf.md). :func:`client_and_config` imports
``kubernetes.client`` and ``kubernetes.config`` and nothing else:

- the ``kubernetes`` package module is made from its spec without running its
  ``__init__``. Any other name looked up on it later (``kubernetes.watch``,
  ``kubernetes.__version__``) imports that submodule, or runs the real ``__init__`` then,
  so the package behaves as usual for any other code in the process;
- while ``kubernetes.config`` is imported, ``requests_oauthlib`` and ``oauthlib.oauth2`` are
  stand-ins that import the real module the first time they are used (an OIDC refresh).
  They are taken out of ``sys.modules`` right after, so a later import gets the real ones.

Nothing is deferred when those modules were imported before; anything unexpected falls
back to a plain import. Requests still go through the client's own ``ApiClient``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

__all__ = ["client_and_config"]

_lock = threading.RLock()


class _LazyPackage(types.ModuleType):
    """The ``kubernetes`` package while its ``__init__`` has not run."""

    def __getattr__(self, name: str) -> Any:
        full = f"{self.__name__}.{name}"
        if not name.startswith("__"):
            try:
                spec = importlib.util.find_spec(full)
            except (ImportError, ValueError):
                spec = None
            if spec is not None:
                return importlib.import_module(full)
        _initialise(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _initialise(module: types.ModuleType) -> None:
    """Run the package's real ``__init__`` (once), then let it be a plain module."""
    with _lock:
        if type(module) is not _LazyPackage:
            return
        module.__class__ = types.ModuleType  # type: ignore[assignment]
        spec = module.__spec__
        assert spec is not None
        assert spec.loader is not None
        spec.loader.exec_module(module)


class _StandIn(types.ModuleType):
    """A module not imported yet: any name looked up imports the real one. While it stands
    in ``sys.modules`` it is no package (``__path__`` and other dunders are missing), so
    ``from requests_oauthlib import OAuth2Session`` takes the name it holds and nothing more."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and sys.modules.get(self.__name__) is self:
            raise AttributeError(name)
        return getattr(_real(self), name)


def _real(stand_in: types.ModuleType) -> types.ModuleType:
    name = stand_in.__name__
    with _lock:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return importlib.import_module(name)


@contextlib.contextmanager
def _oidc_modules_deferred() -> Iterator[None]:
    """``requests_oauthlib`` and ``oauthlib.oauth2`` as stand-ins for the block."""
    placed: list[tuple[str, types.ModuleType]] = []
    try:
        if (
            "requests_oauthlib" not in sys.modules
            and "oauthlib.oauth2" not in sys.modules
            and importlib.util.find_spec("requests_oauthlib") is not None
            and importlib.util.find_spec("oauthlib") is not None
        ):
            oauthlib = importlib.import_module("oauthlib")  # small; kube_config keeps it

            oauth2 = _StandIn("oauthlib.oauth2")
            session = _StandIn("requests_oauthlib")

            def oauth2_session(*args: Any, **kwargs: Any) -> Any:
                return _real(session).OAuth2Session(*args, **kwargs)

            session.OAuth2Session = oauth2_session  # type: ignore[attr-defined]
            for name, stand_in in (("oauthlib.oauth2", oauth2), ("requests_oauthlib", session)):
                sys.modules[name] = stand_in
                placed.append((name, stand_in))
            if "oauth2" not in vars(oauthlib):
                # replaced by the real module as soon as anything imports it
                setattr(oauthlib, "oauth2", oauth2)  # noqa: B010
    except (ImportError, ValueError):
        pass
    try:
        yield
    finally:
        for name, placeholder in placed:
            if sys.modules.get(name) is placeholder:
                del sys.modules[name]


def _lazy_package() -> None:
    """Put the ``kubernetes`` package in ``sys.modules`` without running its ``__init__``."""
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError("kubernetes")
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _LazyPackage
    sys.modules["kubernetes"] = module


def client_and_config() -> tuple[types.ModuleType, types.ModuleType]:
    """``kubernetes.client`` and ``kubernetes.config``, imported without the rest."""
    with _lock:
        if "kubernetes.config" not in sys.modules:
            fresh = "kubernetes" not in sys.modules
            try:
                if fresh:
                    _lazy_package()
                with _oidc_modules_deferred():
                    importlib.import_module("kubernetes.config")
            except Exception:
                if fresh:  # start again the ordinary way
                    for name in [n for n in sys.modules if n.partition(".")[0] == "kubernetes"]:
                        del sys.modules[name]
                importlib.import_module("kubernetes")
        return importlib.import_module("kubernetes.client"), importlib.import_module(
            "kubernetes.config"
        )
