"""``drifttui config``: the effective settings and where each came from."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Print the effective settings, each with its source (flag, environment variable, config file
or default). Tokens and keys are never printed, only whether they are set."""

EPILOG = """\
examples:
  drifttui config
  drifttui config -o json
  drifttui --config fleet.yaml config      check a config file's environments
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from drifttui.config import settings_from_args
    from drifttui.errors import redact_url

    s = settings_from_args(args)
    src = s.sources
    rows = [
        (
            "hub",
            "ConfigHub " + redact_url(s.cub_api_url or "")
            if not s.uses_embedded_hub
            else f"embedded {s.hub_path}",
            src.get("cub_api_url") if not s.uses_embedded_hub else src.get("hub_path", "default"),
        ),
        ("cub token", "set (hidden)" if s.cub_token else "unset", src.get("cub_token", "unset")),
        (
            "claude key",
            "set (hidden)" if s.claude_api_key else "unset (offline analyst)",
            src.get("claude_api_key", "unset"),
        ),
        ("claude model", s.claude_model, src.get("claude_model", "default")),
        (
            "kubeconfig",
            s.kubeconfig or "~/.kube/config or in-cluster",
            src.get("kubeconfig", "default"),
        ),
        ("auto-fix", str(s.auto_fix).lower(), src.get("auto_fix", "default")),
        ("read-only", str(s.read_only).lower(), "flag" if s.read_only else "default"),
        (
            "prices",
            f"${s.prices.vcpu_hour}/vCPU-hour, ${s.prices.gib_hour}/GiB-hour",
            "file" if s.config_file else "default",
        ),
        ("config file", str(s.config_file or "none"), "flag/env" if s.config_file else "-"),
    ]
    environments = s.environments
    source = "file" if s.environments_from_file else "NAMESPACE/CUB_SPACE"
    if not s.environments_from_file:
        from drifttui.errors import DrifttuiError
        from drifttui.hub import open_hub
        from drifttui.runtime import environments_for

        try:
            hub = open_hub(s)
            try:
                environments = environments_for(s, hub)
            finally:
                hub.close()
            if environments != s.environments:
                source = "the hub's environment chain (drifttui init)"
        except DrifttuiError as exc:
            # stderr: `config -o json | jq` must get JSON only
            print(f"drifttui: warning: cannot read the hub: {exc}", file=sys.stderr)
    envs = [
        {
            "name": e.name,
            "space": e.space,
            "context": e.context,
            "namespace": e.namespace,
            "read_only": e.read_only,
            "auto_fix": e.auto_fix,
            "production": e.production,
        }
        for e in environments
    ]
    if args.output == "json":
        print(
            json.dumps(
                {
                    "settings": {k: {"value": v, "source": w} for k, v, w in rows},
                    "environments": envs,
                    "environments_source": source,
                    "warnings": list(s.warnings),
                },
                indent=2,
            )
        )
        return 0
    width = max(len(k) for k, _, _ in rows)
    for k, v, w in rows:
        print(f"{k:<{width}}  {v}  [{w}]")
    print(f"environments  [{source}]")
    for e in envs:
        print(
            f"  {e['name']}: space {e['space']}, context {e['context'] or 'current'}, "
            f"namespace {e['namespace'] or 'all'}"
            + (", production" if e["production"] else "")
            + (", read-only" if e["read_only"] else "")
        )
    for w in s.warnings:
        print(f"warning: {w}")
    return 0
