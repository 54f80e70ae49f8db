"""``drifttui promote``: carry units from one environment to the next."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Promote units from FROM to TO (environment names such as dev, or space slugs). Units of FROM
that TO lacks are cloned into TO; TO's clones of FROM's units are upgraded with a
path-level three-way merge, so TO's local customisations are kept (paths changed on both
sides are kept and reported as conflicts). The plan, with the field changes per unit, is
shown first and confirmed (production targets ask for the space name). A TO unit with the
same name that is not a clone of FROM's is skipped and reported, never re-linked. All
writes of one promotion share one changeset; the upgrades are one bulk call (push-upgrade)."""

EPILOG = """\
examples:
  drifttui promote dev staging                  plan, confirm, promote
  drifttui promote dev staging --unit backend-api --yes
  drifttui promote shop-staging shop-prod --dry-run
exit codes: 0 promoted (or nothing to do), 2 error or refused
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="FROM", help="environment or space to promote from")
    parser.add_argument("target", metavar="TO", help="environment or space to promote to")
    parser.add_argument("--unit", help="only this unit (its slug in FROM)")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    parser.add_argument("-m", "--message", default="", help="change description")


def run(args: argparse.Namespace) -> int:
    import sys

    from drifttui.errors import HubError
    from drifttui.hub.chain import describe_change, execute_promotion, plan_promotion
    from drifttui.hub.console import confirm_write, hub_from_args, resolve_space_arg

    with hub_from_args(args, must_exist=True) as (settings, hub):
        source = resolve_space_arg(hub, settings, args.source)
        target = resolve_space_arg(hub, settings, args.target)
        plan = plan_promotion(hub, source, target, args.unit)
        print(f"promote {source} -> {target}")
        for p in plan.units:
            if p.action == "clone":
                print(f"  clone    {p.unit} (new in {target}, {len(p.changes)} field(s))")
            elif p.action == "upgrade":
                print(f"  upgrade  {p.target} ({len(p.changes)} change(s))")
                for c in p.changes:
                    print(f"      {describe_change(c)}")
                for path in p.conflicts:
                    print(f"      = {path}: kept {target}'s local value")
            elif p.action == "up-to-date":
                print(f"  up to date  {p.target}")
            else:
                print(f"  skip     {p.unit}: {p.reason}")
        for p in plan.skipped:
            print(f"drifttui: warning: skipped {p.unit}: {p.reason}", file=sys.stderr)
        if not plan.writes:
            print("nothing to promote")
            return 0
        if args.dry_run:
            print("dry run: nothing written")
            return 0
        question = f"Promote {len(plan.writes)} unit(s) into {target}?"
        if not confirm_write(hub, target, question, assume_yes=args.yes, typed=target):
            print("not promoted")
            return 2
        result = execute_promotion(hub, plan, args.message, unit=args.unit)
        failed = [r for r in result.results if not r.ok]
        for r in result.results:
            if r.ok:
                rev = f"revision {r.revision}" if r.revision else "no change"
                print(f"promoted {r.space}/{r.unit}: {rev}")
        for r in failed:
            print(f"drifttui: error: {r.space}/{r.unit}: {r.error}", file=sys.stderr)
        if failed:
            raise HubError(f"{len(failed)} of {len(result.results)} unit(s) failed", target)
    return 0
