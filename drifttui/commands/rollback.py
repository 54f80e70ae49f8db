"""``drifttui rollback``: restore a unit's earlier revision as a new revision."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Roll a unit back: the data of revision N (default: the previous revision) becomes a new
head revision. History is never rewritten; rolling back a rollback is another rollback.
The fields that will change are shown first and confirmed."""

EPILOG = """\
examples:
  drifttui rollback backend-api --space shop-staging             to the previous revision
  drifttui rollback backend-api --space shop-prod --revision 3 --yes
  drifttui hub revisions backend-api --space shop-prod           see the revisions first
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("unit", metavar="UNIT", help="unit slug")
    parser.add_argument("--space", required=True, help="space of the unit (or environment name)")
    parser.add_argument("--revision", type=int, help="revision to restore (default: previous)")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask")
    parser.add_argument("-m", "--message", default="", help="change description")


def run(args: argparse.Namespace) -> int:
    from drifttui.hub.chain import describe_change, execute_rollback, plan_rollback
    from drifttui.hub.console import confirm_write, hub_from_args, resolve_space_arg

    with hub_from_args(args, must_exist=True) as (settings, hub):
        space = resolve_space_arg(hub, settings, args.space)
        plan = plan_rollback(hub, space, args.unit, args.revision)
        print(f"roll back {space}/{args.unit} from revision {plan.head} to {plan.revision}")
        for c in plan.changes:
            print(f"    {describe_change(c)}")
        if not plan.changes:
            print("    (same data as the head: nothing would change)")
            return 0
        question = f"Restore revision {plan.revision} of {space}/{args.unit}?"
        if not confirm_write(hub, space, question, assume_yes=args.yes, typed=args.unit):
            print("not rolled back")
            return 2
        unit = execute_rollback(hub, plan, args.message)
        print(
            f"rolled back {space}/{args.unit}: revision {unit.head_revision} has revision "
            f"{plan.revision}'s data"
        )
    return 0
