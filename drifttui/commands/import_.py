"""``drifttui import``: Kubernetes manifests into units of a space (one unit per object)."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Import Kubernetes manifests as units of a space, one unit per object. A unit is named
after its object (metadata.name); when another object already holds that name the unit is
<kind>-<name> (e.g. service-backend-api). Importing a changed manifest again makes a new
revision of the same unit, an unchanged one writes nothing. Server-populated fields
(status, uid, resourceVersion, managedFields, last-applied) are dropped."""

EPILOG = """\
examples:
  drifttui import app.yaml --space shop-base
  drifttui import k8s/ --space shop-dev -m "bump image"
  kubectl get deploy web -o yaml > web.yaml && drifttui import web.yaml --space shop-prod
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="YAML files or directories")
    parser.add_argument("--space", required=True, help="space (or environment name) to import into")
    parser.add_argument("-m", "--message", default="", help="change description")


def run(args: argparse.Namespace) -> int:
    from drifttui.hub.chain import import_objects, read_manifest_files, resolve_space
    from drifttui.hub.console import hub_from_args, print_table

    objects = read_manifest_files(args.paths)
    with hub_from_args(args, must_exist=True) as (settings, hub):
        envs = settings.environments if settings.environments_from_file else ()
        space = resolve_space(hub, args.space, envs)
        results = import_objects(hub, space, objects, args.message)
        print_table(
            ["ACTION", "UNIT", "OBJECT", "REVISION"],
            [(r.action, r.slug, r.key, r.revision) for r in results],
        )
    return 0
