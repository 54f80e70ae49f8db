"""``drifttui hub``: look into the hub (spaces, units, sets, ...) or serve it over HTTP."""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Inspect the hub drifttui uses (ConfigHub when CUB_API_URL/CUB_TOKEN are set, else the
embedded hub), or share the embedded hub over HTTP with `hub serve`. What the seed shows
with cub space list, cub unit list, cub unit tree, cub unit data and cub changeset list.
JSON output (-o json) uses ConfigHub's PascalCase field names (Slug, SpaceID, ...)."""

EPILOG = """\
examples:
  drifttui hub spaces                          spaces with their unit counts and labels
  drifttui hub units --space shop-prod         STATUS, UPGRADE-NEEDED, UNAPPLIED-CHANGES
  drifttui hub units --where "Labels.tier = 'critical'"
  drifttui hub tree --node space               the environment chain(s)
  drifttui hub data backend-api --space shop-staging --revision 2
  drifttui hub sets --space shop-drift-records
  drifttui hub audit --space shop-prod --limit 20
  drifttui hub serve --port 8484 --token-file ~/.config/drifttui/hub.token
"""

_SUB: dict[str, tuple[str, str]] = {
    "spaces": ("list spaces", "drifttui hub spaces -o json"),
    "units": ("list units (all spaces unless --space)", "drifttui hub units --space shop-dev"),
    "tree": ("clone tree of units or spaces", "drifttui hub tree --node space"),
    "data": ("print a unit's YAML (at a revision)", "drifttui hub data web --space shop-dev"),
    "revisions": ("list a unit's revisions", "drifttui hub revisions web --space shop-dev"),
    "sets": ("list sets and their members", "drifttui hub sets --space shop-drift-records"),
    "filters": ("list saved filters", "drifttui hub filters --space shop-filters"),
    "changesets": ("list changesets", "drifttui hub changesets --limit 5"),
    "audit": ("every mutation: who, what, when, which units", "drifttui hub audit --limit 20"),
    "serve": (
        "serve the embedded hub over HTTP (ConfigHub's API paths, bearer token)",
        "drifttui hub serve --port 8484 --token-file hub.token",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from drifttui.cli import common_options

    sub = parser.add_subparsers(dest="hub_command", metavar="WHAT", required=True)
    common = common_options()
    for name, (help_text, example) in _SUB.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=f"example:\n  {example}\n",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        _options(name, p)


def _options(name: str, p: argparse.ArgumentParser) -> None:
    if name == "serve":
        p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8484, help="port (default 8484; 0: any free)")
        p.add_argument(
            "--token-file",
            metavar="FILE",
            help="file holding the bearer token (created with a new token if missing; "
            "default <data dir>/hub-serve.token)",
        )
        return
    if name in ("data", "revisions"):
        p.add_argument("unit", metavar="UNIT")
        p.add_argument("--space", required=True)
        if name == "data":
            p.add_argument("--revision", type=int, help="revision number (default: head)")
            return
    else:
        p.add_argument(
            "--space",
            required=name in ("sets", "filters"),
            help="only this space" if name not in ("sets", "filters") else "the space",
        )
    if name == "units":
        p.add_argument("--where", help="a ConfigHub where-clause over units")
    if name == "tree":
        p.add_argument("--node", choices=("unit", "space"), default="unit")
    if name in ("changesets", "audit"):
        p.add_argument("--limit", type=int, default=50 if name == "audit" else 20)
    p.add_argument(
        "-o",
        "--output",
        choices=("table", "json"),
        default="table",
        help="table (default) or json (ConfigHub's PascalCase field names)",
    )


def run(args: argparse.Namespace) -> int:
    if args.hub_command == "serve":
        return _serve(args)
    from drifttui.hub.console import hub_from_args

    with hub_from_args(args, must_exist=True) as (_settings, hub):
        handler = globals()[f"_{args.hub_command}"]
        result: int = handler(hub, args)
        return result


# --------------------------------------------------------------------------- listings


def _spaces(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing

    spaces = hub.list_spaces()
    if args.space:
        spaces = [s for s in spaces if s.slug == args.space]
    return print_listing(
        args.output,
        spaces,
        lambda s: {
            "Slug": s.slug,
            "SpaceID": s.id,
            "DisplayName": s.display_name,
            "Labels": dict(s.labels),
            "TotalUnitCount": s.unit_count,
            "CreatedAt": s.created_at,
        },
        ["NAME", "UNITS", "LABELS"],
        lambda s: (s.slug, s.unit_count, ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))),
    )


def _unit_json(u: Any) -> dict[str, Any]:
    from drifttui.hub.console import unit_status, yes_no

    return {
        "Slug": u.slug,
        "UnitID": u.id,
        "SpaceSlug": u.space,
        "SpaceID": u.space_id,
        "HeadRevisionNum": u.head_revision,
        "UpstreamUnitID": u.upstream_unit_id,
        "UpstreamRevisionNum": u.upstream_revision,
        "UpgradeNeeded": yes_no(u.upgrade_needed),
        "UnappliedChanges": yes_no(u.unapplied_changes),
        "Status": unit_status(u),
        "Labels": dict(u.labels),
        "LastChangeDescription": u.last_change_description,
        "Conflicts": list(u.conflicts),
        "UpdatedAt": u.updated_at,
    }


def _units(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing, unit_status, yes_no

    return print_listing(
        args.output,
        hub.list_units(args.space, args.where),
        _unit_json,
        ["NAME", "SPACE", "HEAD", "STATUS", "UPGRADE-NEEDED", "UNAPPLIED-CHANGES", "LAST-CHANGE"],
        lambda u: (
            u.slug,
            u.space,
            u.head_revision,
            unit_status(u),
            yes_no(u.upgrade_needed),
            yes_no(u.unapplied_changes),
            u.last_change_description[:60],
        ),
    )


def _tree(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_json, print_table, unit_status, yes_no

    if args.node == "space":
        from drifttui.hub.chain import discover_chain

        envs = discover_chain(hub)
        counts = {s.slug: s.unit_count for s in hub.list_spaces()}
        units = hub.list_units(None)
        needs: dict[str, int] = {}
        for u in units:
            if u.upgrade_needed:
                needs[u.space] = needs.get(u.space, 0) + 1
        if args.space:
            envs = [e for e in envs if e.chain == args.space or e.space == args.space]
        if args.output == "json":
            print_json(
                [
                    {
                        "Slug": e.space,
                        "Environment": e.name,
                        "Chain": e.chain,
                        "UpstreamSpace": e.upstream,
                        "Production": e.production,
                        "TotalUnitCount": counts.get(e.space, 0),
                        "UpgradableUnitCount": needs.get(e.space, 0),
                    }
                    for e in envs
                ]
            )
            return 0
        depth: dict[str, int] = {}
        space_rows: list[tuple[Any, ...]] = []
        for e in envs:
            d = depth[e.space] = depth.get(e.upstream or "", -1) + 1
            space_rows.append(
                (
                    "    " * d + "└── " + e.space,
                    e.name,
                    counts.get(e.space, 0),
                    needs.get(e.space, 0),
                    "yes" if e.production else "",
                )
            )
        print_table(["NODE", "ENVIRONMENT", "UNITS", "UPGRADE-NEEDED", "PRODUCTION"], space_rows)
        return 0

    units = hub.list_units(None)
    children: dict[str | None, list[Any]] = {}
    ids = {u.id for u in units}
    for u in units:
        parent = u.upstream_unit_id if u.upstream_unit_id in ids else None
        children.setdefault(parent, []).append(u)
    roots = children.get(None, [])
    if args.space:
        roots = [u for u in units if u.space == args.space]

    def node(u: Any) -> dict[str, Any]:
        return {**_unit_json(u), "Downstream": [node(c) for c in children.get(u.id, [])]}

    if args.output == "json":
        print_json([node(u) for u in roots])
        return 0
    rows: list[tuple[Any, ...]] = []

    def walk(u: Any, d: int) -> None:
        rows.append(
            (
                "    " * d + "└── " + u.slug,
                u.space,
                unit_status(u),
                yes_no(u.upgrade_needed),
                yes_no(u.unapplied_changes),
            )
        )
        for c in children.get(u.id, []):
            walk(c, d + 1)

    for r in roots:
        walk(r, 0)
    print_table(["NODE", "SPACE", "STATUS", "UPGRADE-NEEDED", "UNAPPLIED-CHANGES"], rows)
    return 0


def _data(hub: Any, args: argparse.Namespace) -> int:
    import sys

    text = hub.get_unit_data(args.space, args.unit, args.revision)
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


def _revisions(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing

    return print_listing(
        args.output,
        hub.list_revisions(args.space, args.unit),
        lambda r: {
            "RevisionNum": r.num,
            "RevisionID": r.id,
            "CreatedAt": r.created_at,
            "User": r.author,
            "Source": r.source,
            "Description": r.description,
            "RestoredRevisionNum": r.restored_from or 0,
            "ChangeSetID": r.changeset_id,
        },
        ["NUM", "TIME", "USER", "SOURCE", "DESCRIPTION"],
        lambda r: (r.num, r.created_at[:19], r.author, r.source, r.description[:70]),
    )


def _sets(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing

    return print_listing(
        args.output,
        hub.list_sets(args.space),
        lambda s: {
            "Slug": s.slug,
            "SpaceSlug": s.space,
            "Description": s.description,
            "Label": s.label,
            "Filter": s.filter_slug,
            "Members": list(s.members),
        },
        ["NAME", "SPACE", "MEMBERS", "DESCRIPTION"],
        lambda s: (s.slug, s.space, len(s.members), s.description),
    )


def _filters(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing

    return print_listing(
        args.output,
        hub.list_filters(args.space),
        lambda f: {
            "Slug": f.slug,
            "FilterID": f.id,
            "SpaceSlug": f.space,
            "From": f.from_,
            "Where": f.where,
            "Labels": dict(f.labels),
        },
        ["NAME", "SPACE", "FROM", "WHERE"],
        lambda f: (f.slug, f.space, f.from_, f.where),
    )


def _changesets(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing

    return print_listing(
        args.output,
        hub.list_changesets(args.space)[-args.limit :] if args.limit > 0 else [],
        lambda c: {
            "Slug": c.slug,
            "ChangeSetID": c.id,
            "SpaceSlug": c.space,
            "Description": c.description,
            "CreatedAt": c.created_at,
            "Units": list(c.units),
        },
        ["NAME", "SPACE", "UNITS", "CREATED", "DESCRIPTION"],
        lambda c: (c.slug, c.space, len(c.units), c.created_at[:19], c.description[:60]),
    )


def _audit(hub: Any, args: argparse.Namespace) -> int:
    from drifttui.hub.console import print_listing

    def units(e: Any) -> str:
        return ", ".join(e.units[:3]) + (f" (+{len(e.units) - 3})" if len(e.units) > 3 else "")

    return print_listing(
        args.output,
        hub.list_audit(args.space, args.limit),
        lambda e: {
            "CreatedAt": e.at,
            "User": e.author,
            "Action": e.action,
            "Description": e.description,
            "Units": list(e.units),
            "ChangeSetID": e.changeset_id,
        },
        ["TIME", "USER", "ACTION", "UNITS", "DESCRIPTION"],
        lambda e: (e.at[:19], e.author, e.action, units(e), e.description[:50]),
    )


# --------------------------------------------------------------------------- serve


def _serve(args: argparse.Namespace) -> int:
    import ipaddress
    import os
    import secrets
    import sys
    from pathlib import Path

    from drifttui.config import settings_from_args
    from drifttui.errors import ConfigError
    from drifttui.hub.local import SqliteHub
    from drifttui.hub.server import ServerThread, create_app

    settings = settings_from_args(args)
    for w in settings.warnings:
        print(f"drifttui: warning: {w}", file=sys.stderr)
    token_path = (
        Path(args.token_file).expanduser()
        if args.token_file
        else settings.hub_path.parent / "hub-serve.token"
    )
    if token_path.is_file():
        try:
            token = token_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the token file ({exc.strerror})", str(token_path)
            ) from None
        if not token:
            raise ConfigError("the token file is empty", str(token_path), "write a token into it")
        origin = f"token from {token_path}"
    else:
        token = secrets.token_urlsafe(32)
        try:
            token_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token + "\n")
        except OSError as exc:
            raise ConfigError(
                f"cannot write the token file ({exc.strerror})", str(token_path)
            ) from None
        origin = f"new token written to {token_path}"
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(
            f"drifttui: warning: serving on {args.host}: anyone who can reach it and holds the "
            "token can change the hub",
            file=sys.stderr,
        )
    hub = SqliteHub(settings.hub_path)
    try:
        try:
            server = ServerThread(
                create_app(hub, token),
                args.host,
                args.port,
                log_level="info",
                access_log=True,
                use_colors=False if os.environ.get("NO_COLOR") else None,
            )
        except (OSError, OverflowError) as exc:  # in use / bad host; port over 65535
            reason = getattr(exc, "strerror", None) or str(exc).removeprefix("bind(): ")
            raise ConfigError(
                f"cannot listen on {args.host}:{args.port} ({reason.rstrip('.')})",
                "hub serve",
                "check --host and pick a free --port (0-65535)",
            ) from None
        print(
            f"drifttui hub serve: {hub.path} at {server.url} ({origin}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        server.run()
    finally:
        hub.close()
    return 0
