"""Settings: flags > environment variables > config file (TOML or YAML) > defaults.

Built once in the CLI and passed down; nothing else reads ``os.environ`` (the analyst's
``ANTHROPIC_BASE_URL`` is read by the anthropic SDK itself). Tokens are held in
:class:`SecretValue`, whose repr and str are masked, so a settings dump, a log line or a
traceback never shows them.

Environment variables (the seed's names):

============== ============================================= ===========================
NAMESPACE      Kubernetes namespace to monitor                ``qa``
CUB_SPACE      ConfigHub space holding the desired state      ``acorn-bear-qa``
CUB_API_URL    ConfigHub API (a trailing ``/v1`` is dropped)  embedded hub when unset
CUB_TOKEN      ConfigHub token                                embedded hub when unset
CLAUDE_API_KEY Claude key (also ANTHROPIC_API_KEY)            offline analyst when unset
AUTO_FIX       correct safe drift automatically               ``false``
KUBECONFIG     kubeconfig file(s)                             ``~/.kube/config``
DRIFTTUI_HUB   embedded hub database file                     ``<data dir>/hub.db``
============== ============================================= ===========================
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from drifttui.core.models import Environment, Prices
from drifttui.errors import ConfigError

DEFAULT_NAMESPACE = "qa"
DEFAULT_SPACE = "acorn-bear-qa"
DEFAULT_CUB_API_URL = "https://hub.confighub.com/api"
DEFAULT_CLAUDE_MODEL = "claude-sonnet-5-5"  # claude-sonnet-4-5 reaches end of life 2026-11-30


class SecretValue:
    """A token or key. ``str``/``repr`` show ``***``; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "SecretValue('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretValue", self._value))


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """XDG data directory for drifttui (``$XDG_DATA_HOME/drifttui`` or
    ``~/.local/share/drifttui``)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/share")
    return Path(base) / "drifttui"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything a run needs. ``sources`` says where each value came from."""

    environments: tuple[Environment, ...]
    hub_path: Path
    cub_api_url: str | None = None
    cub_token: SecretValue | None = None
    claude_api_key: SecretValue | None = None
    claude_model: str = DEFAULT_CLAUDE_MODEL
    kubeconfig: str | None = None
    auto_fix: bool = False
    read_only: bool = False
    log_format: str = "text"
    verbose: bool = False
    prices: Prices = field(default_factory=Prices)
    ignore_rules: tuple[Mapping[str, Any], ...] = ()
    config_file: Path | None = None
    environments_from_file: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def uses_embedded_hub(self) -> bool:
        """With no CUB_TOKEN and no CUB_API_URL the embedded hub is used."""
        return not self.cub_api_url and not self.cub_token

    def environment(self, name: str) -> Environment:
        for e in self.environments:
            if e.name == name or e.space == name:
                return e
        known = ", ".join(e.name for e in self.environments) or "none"
        raise ConfigError(f"no environment named {name!r}", "--env", f"known: {known}")

    def select(self, names: list[str] | None) -> tuple[Environment, ...]:
        if not names:
            return self.environments
        return tuple(self.environment(n) for n in names)

    def with_environments(self, envs: tuple[Environment, ...]) -> Settings:
        return replace(self, environments=envs)


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML config file; a clear ConfigError on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", str(path), "check --config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file ({exc.strerror})", str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("config file is not UTF-8 text", str(path)) from None
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # tomllib.TOMLDecodeError / yaml.YAMLError
        msg = " ".join(str(exc).split())[:200]
        raise ConfigError(f"config file does not parse: {msg}", str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config file must hold a mapping at the top level", str(path))
    return data


def _environment_from_mapping(raw: Any, index: int, path: Path) -> Environment:
    where = f"{path}: environments[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError("an environment must be a mapping", where)
    name = raw.get("name")
    space = raw.get("space")
    if not isinstance(name, str) or not name:
        raise ConfigError("environment has no name", where)
    if not isinstance(space, str) or not space:
        raise ConfigError(f"environment {name!r} has no space", where)
    production = bool(raw.get("production", name in {"prod", "production"}))
    return Environment(
        name=name,
        space=space,
        context=raw.get("context"),
        namespace=raw.get("namespace"),
        read_only=bool(raw.get("read-only", raw.get("read_only", False))),
        auto_fix=bool(raw.get("auto-fix", raw.get("auto_fix", False))),
        production=production,
        allow_auto_fix_in_production=bool(
            raw.get("allow-auto-fix-in-production", raw.get("allow_auto_fix_in_production", False))
        ),
        accent=raw.get("accent", "red" if production else None),
        upstream=raw.get("upstream"),
    )


def load_settings(
    *,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings. ``flags`` holds only the options the user gave (None = not given):
    config, hub, log_format, verbose, readonly, auto_fix, namespace, space, context."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = dict(os.environ if env is None else env)
    sources: dict[str, str] = {}
    warnings: list[str] = []

    cfg_path_s = flags.get("config") or env.get("DRIFTTUI_CONFIG")
    cfg: dict[str, Any] = {}
    cfg_path: Path | None = None
    if cfg_path_s:
        cfg_path = Path(str(cfg_path_s)).expanduser()
        cfg = load_config_file(cfg_path)

    def pick(
        name: str, flag: str | None, env_name: str | None, file_key: str | None, default: Any
    ) -> Any:
        if flag and flag in flags:
            sources[name] = f"flag --{flag.replace('_', '-')}"
            return flags[flag]
        if env_name and env.get(env_name):
            sources[name] = f"env {env_name}"
            return env[env_name]
        if file_key and file_key in cfg:
            sources[name] = f"file {cfg_path}"
            return cfg[file_key]
        sources[name] = "default"
        return default

    hub_cfg: dict[str, Any] = cfg["hub"] if isinstance(cfg.get("hub"), dict) else {}
    hub_path = pick("hub_path", "hub", "DRIFTTUI_HUB", None, None)
    if hub_path is None and hub_cfg.get("path"):
        hub_path, sources["hub_path"] = hub_cfg["path"], f"file {cfg_path}"
    hub_path = Path(str(hub_path)).expanduser() if hub_path else data_dir(env) / "hub.db"

    url = pick("cub_api_url", "cub_api_url", "CUB_API_URL", None, None)
    if url is None and hub_cfg.get("url"):
        url, sources["cub_api_url"] = hub_cfg["url"], f"file {cfg_path}"
    token_raw = env.get("CUB_TOKEN") or None
    sources["cub_token"] = "env CUB_TOKEN" if token_raw else "unset"
    if token_raw and not url:
        url = DEFAULT_CUB_API_URL
        sources["cub_api_url"] = "default (CUB_TOKEN set)"
    if url:
        url = str(url).rstrip("/")
        if url.endswith("/v1"):
            url = url[: -len("/v1")]
            warnings.append(
                f"CUB_API_URL ends in /v1, which ConfigHub's API does not have; using {url}"
            )

    claude_raw = env.get("CLAUDE_API_KEY") or env.get("ANTHROPIC_API_KEY") or None
    sources["claude_api_key"] = (
        "env CLAUDE_API_KEY"
        if env.get("CLAUDE_API_KEY")
        else "env ANTHROPIC_API_KEY"
        if claude_raw
        else "unset"
    )
    analysis_cfg: dict[str, Any] = cfg["analysis"] if isinstance(cfg.get("analysis"), dict) else {}
    model = pick("claude_model", "model", "DRIFTTUI_CLAUDE_MODEL", None, None)
    model = model or analysis_cfg.get("model") or DEFAULT_CLAUDE_MODEL

    auto_fix_v = pick("auto_fix", "auto_fix", "AUTO_FIX", "auto-fix", False)
    auto_fix = auto_fix_v if isinstance(auto_fix_v, bool) else _truthy(str(auto_fix_v))
    read_only = bool(flags.get("readonly", False) or cfg.get("read-only", False))
    kubeconfig = pick("kubeconfig", "kubeconfig", "KUBECONFIG", "kubeconfig", None)

    prices_cfg: dict[str, Any] = cfg["prices"] if isinstance(cfg.get("prices"), dict) else {}
    base = Prices()
    try:
        prices = Prices(
            vcpu_hour=float(
                prices_cfg.get("vcpu-hour", prices_cfg.get("vcpu_hour", base.vcpu_hour))
            ),
            gib_hour=float(prices_cfg.get("gib-hour", prices_cfg.get("gib_hour", base.gib_hour))),
        )
    except (TypeError, ValueError):
        raise ConfigError("prices must be numbers", f"{cfg_path}: prices") from None

    ignore = cfg.get("ignore") or []
    if not isinstance(ignore, list) or not all(isinstance(r, dict) for r in ignore):
        raise ConfigError("ignore must be a list of rules (mappings)", f"{cfg_path}: ignore")

    envs: list[Environment] = []
    from_file = False
    raw_envs = cfg.get("environments")
    if raw_envs is not None:
        if not isinstance(raw_envs, list) or not raw_envs:
            raise ConfigError("environments must be a non-empty list", f"{cfg_path}")
        envs = [
            _environment_from_mapping(r, i, cfg_path or Path("?")) for i, r in enumerate(raw_envs)
        ]
        from_file = True
        names = [e.name for e in envs]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ConfigError(
                f"environment names repeat: {', '.join(sorted(dupes))}", str(cfg_path)
            )
    else:
        namespace = pick("namespace", "namespace", "NAMESPACE", None, DEFAULT_NAMESPACE)
        space = pick("space", "space", "CUB_SPACE", None, DEFAULT_SPACE)
        context = pick("context", "context", "KUBE_CONTEXT", None, None)
        envs = [
            Environment(
                name=str(flags.get("env_name") or "default"),
                space=str(space),
                context=context,
                namespace=None if namespace in ("*", "") else str(namespace),
                auto_fix=auto_fix,
                read_only=read_only,
            )
        ]
    if read_only:
        envs = [replace(e, read_only=True) for e in envs]
    if auto_fix and from_file and "auto_fix" in sources and sources["auto_fix"] != "default":
        envs = [replace(e, auto_fix=True) for e in envs]

    return Settings(
        environments=tuple(envs),
        hub_path=hub_path,
        cub_api_url=str(url) if url else None,
        cub_token=SecretValue(token_raw) if token_raw else None,
        claude_api_key=SecretValue(claude_raw) if claude_raw else None,
        claude_model=str(model),
        kubeconfig=str(kubeconfig) if kubeconfig else None,
        auto_fix=auto_fix,
        read_only=read_only,
        log_format=str(flags.get("log_format", "text")),
        verbose=bool(flags.get("verbose", False)),
        prices=prices,
        ignore_rules=tuple(ignore),
        config_file=cfg_path,
        environments_from_file=from_file,
        sources=sources,
        warnings=tuple(warnings),
    )


def settings_from_args(args: Any, **extra: Any) -> Settings:
    """Settings from an argparse namespace: only options the user gave count as flags."""
    flags = {
        "config": getattr(args, "config", None),
        "hub": getattr(args, "hub", None),
        "log_format": getattr(args, "log_format", None),
        "verbose": getattr(args, "verbose", None),
        "readonly": getattr(args, "readonly", None) or None,
    }
    flags.update(extra)
    return load_settings(flags=flags)
