"""``drifttui diff``: desired manifests against live objects saved from a cluster.

Offline and fast: nothing here talks to a cluster or a hub, and nothing heavy is imported
(no Textual, no Kubernetes/anthropic/httpx clients; PyYAML only when a YAML file is read).
"""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Compare desired manifests (multi-document YAML, JSON, or a List) with live objects saved
from a cluster (`kubectl get -o json|yaml`, a List, or documents). Objects absent from the
live files are missing. Defaults the API server fills in, canonical quantities, tool
annotations and server-managed fields are not drift; fields a person added live are
(when the live objects carry managedFields: `kubectl get --show-managed-fields`)."""

EPILOG = """\
examples:
  drifttui diff --desired app.yaml --live live.json
  kubectl get deploy,svc,cm -n shop -o json --show-managed-fields > live.json
  drifttui diff --desired manifests/ --live live.json -o markdown
  drifttui diff --desired app.yaml --live live.json -o table -o sarif=drift.sarif -o json=drift.json
  drifttui diff --desired app.yaml --live live.json --ignore ignore.yaml --namespace shop

ignore file: a YAML/JSON list of rules (or a mapping with an "ignore:" list), e.g.
  - {name: istio, path: "spec.template.spec.containers[name=istio-proxy]", kind: Deployment}
  - {pointer: /spec/replicas, kind: Deployment, resourceName: "web-.*"}
  - {managers: [vpa-recommender]}

exit codes: 0 no drift, 1 drift (changed, added, removed or missing), 2 error.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("diff")
    g.add_argument(
        "--desired",
        action="append",
        metavar="PATH",
        required=True,
        help="desired manifests: file or directory (repeatable)",
    )
    g.add_argument(
        "--live",
        action="append",
        metavar="PATH",
        required=True,
        help="live objects saved from the cluster: file or directory (repeatable); "
        "an empty file means none exist",
    )
    g.add_argument(
        "-o",
        "--output",
        action="append",
        metavar="FORMAT[=PATH]",
        default=None,
        help="table|json|yaml|markdown|sarif|junit; repeatable; FORMAT=PATH writes a file "
        "(default: table)",
    )
    g.add_argument(
        "-n",
        "--namespace",
        default="default",
        metavar="NS",
        help="namespace of manifests that name none (default: default)",
    )
    g.add_argument("--ignore", metavar="FILE", help="ignore rules file (YAML or JSON)")
    g.add_argument(
        "--include-unmanaged",
        action="store_true",
        help="also list live objects that no desired manifest declares",
    )
    g.add_argument(
        "--analyze",
        action="store_true",
        help="add the analyst's verdicts (Claude with CLAUDE_API_KEY, else the offline analyst)",
    )
    g.add_argument(
        "--environment",
        default="local",
        metavar="NAME",
        help="environment name in the report and finding ids (default: local)",
    )


def _load_ignore_file(path: str) -> list[dict[str, object]]:
    from pathlib import Path

    from drifttui.errors import ConfigError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("ignore file not found", path, "check --ignore") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"cannot read ignore file ({reason})", path) from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"ignore file does not parse{at}", path) from None
    if data is None:
        return []
    if isinstance(data, dict) and "ignore" in data:
        data = data["ignore"]
    if not isinstance(data, list):
        raise ConfigError(
            "ignore file must hold a list of rules", path, 'or a mapping with an "ignore:" list'
        )
    return data


def run(args: argparse.Namespace) -> int:
    import gc
    import sys
    from datetime import UTC, datetime

    from drifttui.config import settings_from_args
    from drifttui.core.diff import DiffContext, diff_keyed
    from drifttui.core.ignore import compile_rules
    from drifttui.errors import ConfigError
    from drifttui.manifests_io import load_manifests
    from drifttui.report import EnvironmentReport, Report, parse_outputs, use_color, write_outputs

    outputs = parse_outputs(args.output)
    settings = settings_from_args(args)
    raw_rules = list(settings.ignore_rules)
    if args.ignore:
        raw_rules.extend(_load_ignore_file(args.ignore))
    try:
        rules = compile_rules(raw_rules)
    except ConfigError as exc:
        where = args.ignore or str(settings.config_file or "config")
        raise ConfigError(exc.what, f"{where}: {exc.where}", exc.hint) from None

    ns = args.namespace
    # A short batch run that builds no reference cycles: the cyclic collector would only
    # rescan the growing heap of parsed objects (a third of the load time on big inputs).
    gc.disable()
    desired = load_manifests(args.desired, "--desired", allow_empty=False, default_namespace=ns)
    live = load_manifests(args.live, "--live", allow_empty=True, default_namespace=ns)

    ctx = DiffContext(
        environment=args.environment,
        default_namespace=ns,
        ignore_rules=rules,
        prices=settings.prices,
        include_unmanaged=args.include_unmanaged,
    )
    items = diff_keyed({m.key: m.obj for m in desired}, {m.key: m.obj for m in live}, ctx)
    items.sort(key=lambda i: (i.key.group, i.key.kind, i.key.namespace, i.key.name))
    sources = {m.key: m.source for m in desired}
    analysis = None
    if args.analyze:
        from drifttui.commands._once import analyze_items

        analysis = analyze_items(settings, [i for i in items if i.is_drifted])
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    report = Report(
        generated_at=now,
        environments=(
            EnvironmentReport(
                name=args.environment, namespace=ns, items=tuple(items), sources=sources
            ),
        ),
        analysis=analysis,
    )
    write_outputs(report, outputs, sys.stdout, analysis=analysis, color=use_color(sys.stdout))
    return report.exit_code
