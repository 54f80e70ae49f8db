"""``drifttui fix``: bulk correction from the command line (plan, confirm, apply, record)."""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Bulk-correct drift (the seed's "bulk correction across environments using filters"): take a
snapshot, select drifted resources (all of them, or those whose drift records a saved filter
or a set selects), print the plan (the fields each patch changes; Secret values hidden),
ask, then patch the cluster back to the units' desired state with field manager drifttui,
and close the drift records as corrected. Every resource is reported, fixed or not."""

EPILOG = """\
examples:
  drifttui fix --dry-run                          the plan and the server's dry-run, no writes
  drifttui fix --env dev --yes                    fix everything drifted in dev
  drifttui fix --filter auto-correctable --yes    what the auto-correctable filter selects
  drifttui fix --set replica-drifts --env staging
  drifttui fix --accept --env dev --yes           keep the cluster's values: write them into
                                                  the units instead (new revisions)
exit codes: 0 everything selected was fixed (or nothing to do), 2 something failed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        action="append",
        metavar="NAME",
        default=None,
        help="only these environments (repeatable)",
    )
    sel = parser.add_mutually_exclusive_group()
    sel.add_argument("--filter", metavar="NAME", help="a saved filter over the drift records")
    sel.add_argument("--set", metavar="NAME", dest="set_name", help="a set of drift records")
    parser.add_argument(
        "--accept",
        action="store_true",
        help="accept live values into the hub instead of patching the cluster",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan only")
    parser.add_argument("--yes", action="store_true", help="do not ask")
    parser.add_argument("--readonly", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    import sys

    from drifttui.commands._once import take_snapshot
    from drifttui.config import settings_from_args
    from drifttui.errors import DrifttuiError
    from drifttui.hub.console import confirm
    from drifttui.logs import setup_logging
    from drifttui.runtime import build_runtime

    settings = settings_from_args(args)
    secrets = [s.reveal() for s in (settings.cub_token, settings.claude_api_key) if s]
    setup_logging(settings.log_format, verbose=settings.verbose, secrets=secrets)
    runtime = build_runtime(settings, env_names=args.env)
    try:
        engine, rem = runtime.engine, runtime.remediator
        names = [e.name for e in runtime.environments]
        take_snapshot(engine, names, progress=True)
        for env in names:
            if engine.environment_error(env):
                print(f"drifttui: error: {env}: {engine.environment_error(env)}", file=sys.stderr)
        selected = select(runtime, names, args.filter, args.set_name)
        if not selected:
            print("nothing to fix: no drifted resource is selected")
            return 2 if any(engine.environment_error(e) for e in names) else 0
        plans = []
        for env, key in selected:
            try:
                plans.append(rem.plan_accept(env, key) if args.accept else rem.plan_patch(env, key))
            except DrifttuiError as exc:
                print(f"  skip {key} ({env}): {exc}")
        plans = [p for p in plans if not p.noop]
        for p in plans:
            print(f"{p.title}" + ("  [production]" if p.production else ""))
            for line in p.lines:
                print(f"    {line}")
        print(f"{len(plans)} resource(s) to {'accept' if args.accept else 'fix'}")
        if args.dry_run:
            failed = 0
            for p in plans:
                res = rem.preview(p)
                failed += not res.ok
                print(f"  dry-run {p.key} ({p.environment}): {res.message}")
            return 2 if failed else 0
        if not plans:
            return 0
        production = sorted({p.environment for p in plans if p.production})
        question = f"Apply {len(plans)} change(s)?"
        typed = ",".join(production) if production else None
        if typed:
            question = f"{question} This touches production ({typed})."
        if not confirm(question, assume_yes=args.yes, typed=typed):
            print("cancelled: nothing was changed")
            return 0
        for env in {p.environment for p in plans}:
            rem.check_writable(env)
        failed = 0
        for p in plans:
            outcome = rem.execute(p)
            mark = "fixed" if outcome.ok else "FAILED"
            failed += not outcome.ok
            print(f"  {mark}: {p.key} ({p.environment}): {outcome.message}")
        print(f"{len(plans) - failed} fixed, {failed} failed")
        return 2 if failed else 0
    finally:
        runtime.close()


def select(
    runtime: Any, envs: list[str], filter_name: str | None, set_name: str | None
) -> list[tuple[str, Any]]:
    """(env, key) of the drifted resources selected (all, or by filter or set)."""
    from drifttui.errors import ConfigError
    from drifttui.hub.records import record_slug
    from drifttui.runtime import Runtime

    assert isinstance(runtime, Runtime)
    engine = runtime.engine
    drifted = [(env, i) for env in envs for i in engine.store.drifted(env)]
    if filter_name is None and set_name is None:
        return [(env, i.key) for env, i in drifted]
    records = runtime.records
    if records is None:
        raise ConfigError(
            "no drift records on this hub, so filters and sets select nothing",
            "--filter/--set",
            "create the chain with drifttui init",
        )
    chain = records.space.removesuffix("-drift-records")
    # an unknown filter or set is an error before anything is written (the drift records
    # opened below are what filters and sets select from)
    if filter_name is not None:
        runtime.hub.get_filter(f"{chain}-filters", filter_name)
    else:
        known = {s.slug for s in runtime.hub.list_sets(records.space)}
        if set_name not in known:
            raise ConfigError(
                f"no set named {set_name!r}",
                records.space,
                f"sets: {', '.join(sorted(known)) or 'none'}",
            )
    for env, item in drifted:
        records.open_or_update(env, item)
    by_slug = {record_slug(env, i.key): (env, i.key) for env, i in drifted}
    if filter_name is not None:
        units = runtime.hub.evaluate_filter(f"{chain}-filters", filter_name)
        slugs = {u.slug for u in units}
    else:
        sets = {s.slug: s for s in runtime.hub.list_sets(records.space)}
        slugs = {m.rpartition("/")[2] for m in sets[str(set_name)].members}
    return [by_slug[s] for s in sorted(slugs) if s in by_slug]
