"""``drifttui apply``: server-side apply an environment's units to its cluster."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Server-side apply every unit of an environment's space to its cluster with field manager
drifttui (the seed's bin/apply-all), in dependency order (namespaces, RBAC, config, then
workloads), and record in the hub which revision is live, so `drifttui hub units` shows
Applied / NoLive / unapplied changes as `cub unit list` does. A unit that fails is reported
with the API's reason; the others still apply. Units labelled drifttui-requires=auto-fix
(the detector's patch RBAC) apply only when auto-fix is on."""

EPILOG = """\
examples:
  drifttui apply dev --dry-run            what the API server would do, nothing written
  drifttui apply staging --yes
  drifttui apply prod --unit backend-api  one unit (production asks you to type its name)
exit codes: 0 all applied, 2 one or more failed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("environment", help="environment name (or space slug)")
    parser.add_argument("--unit", action="append", default=None, help="only these units")
    parser.add_argument("--dry-run", action="store_true", help="server dry-run only")
    parser.add_argument("--yes", action="store_true", help="do not ask")


_ORDER = {
    "Namespace": 0,
    "CustomResourceDefinition": 0,
    "ServiceAccount": 1,
    "Role": 2,
    "ClusterRole": 2,
    "RoleBinding": 3,
    "ClusterRoleBinding": 3,
    "ConfigMap": 4,
    "Secret": 4,
    "PersistentVolumeClaim": 5,
    "Service": 6,
}


def run(args: argparse.Namespace) -> int:
    from typing import Any

    from drifttui.config import settings_from_args
    from drifttui.engine import REQUIRES_LABEL, parse_unit_document
    from drifttui.errors import DrifttuiError
    from drifttui.hub.console import confirm
    from drifttui.logs import setup_logging
    from drifttui.runtime import build_runtime

    settings = settings_from_args(args)
    secrets = [s.reveal() for s in (settings.cub_token, settings.claude_api_key) if s]
    setup_logging(settings.log_format, verbose=settings.verbose, secrets=secrets)
    runtime = build_runtime(settings, env_names=[args.environment])
    try:
        env = runtime.environments[0]
        hub, cluster = runtime.hub, runtime.clusters[env.name]
        units = hub.list_units(env.space, with_data=True)
        if args.unit:
            wanted = set(args.unit)
            missing = wanted - {u.slug for u in units}
            if missing:
                raise DrifttuiError(f"no unit {', '.join(sorted(missing))}", env.space)
            units = [u for u in units if u.slug in wanted]
        docs: list[tuple[Any, dict[str, Any] | None]] = []
        for u in units:
            if u.labels.get(REQUIRES_LABEL) == "auto-fix" and not settings.auto_fix:
                print(f"  skip {u.slug}: needs auto-fix (AUTO_FIX=true)")
                continue
            try:
                obj = parse_unit_document(u.data, u.slug, env.space, env.namespace or "default")
            except DrifttuiError as exc:
                print(f"  FAILED {u.slug}: {exc}")
                docs.append((u, None))
                continue
            docs.append((u, obj))
        docs.sort(key=lambda d: (_ORDER.get(str((d[1] or {}).get("kind")), 9), d[0].slug))
        print(
            f"{len(docs)} unit(s) of {env.space} -> cluster {cluster.name}"
            + (" (dry-run)" if args.dry_run else "")
        )
        if not args.dry_run:
            runtime.remediator.check_writable(env.name)
            typed = env.name if env.production else None
            if not confirm(
                f"Apply {len(docs)} unit(s) to {env.name}?", assume_yes=args.yes, typed=typed
            ):
                print("cancelled: nothing was applied")
                return 0
        failed = sum(1 for _, o in docs if o is None)
        for unit, maybe in docs:
            if maybe is None:
                continue
            res = cluster.apply(maybe, dry_run=args.dry_run)
            if res.ok:
                if not args.dry_run:
                    hub.mark_applied(env.space, unit.slug, unit.head_revision)
                print(
                    f"  {'would apply' if args.dry_run else 'applied'} {unit.slug} "
                    f"(revision {unit.head_revision}): {res.action}"
                )
            else:
                failed += 1
                status = f" {res.status}" if res.status else ""
                print(f"  FAILED {unit.slug}:{status} {res.error}")
        print(f"{len(docs) - failed} applied, {failed} failed")
        return 2 if failed else 0
    finally:
        runtime.close()
