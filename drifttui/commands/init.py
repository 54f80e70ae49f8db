"""``drifttui init``: the ConfigHub environment chain, its filters, sets and base units."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Create the environment chain on the hub (the seed's install-base + install-envs):
spaces P-base -> P-dev -> P-staging -> P-prod (each environment's units cloned from the one
before), P-filters (security-drift, production-drift, auto-correctable, manual-review) and
P-drift-records (sets critical-drifts, resource-drifts, replica-drifts, corrected-drifts),
with the detector's own units (namespace, RBAC, deployment, service) in P-base. Spaces carry
drifttui.* labels so every drifttui finds the chain. Running it again changes nothing.
Uses ConfigHub when CUB_API_URL/CUB_TOKEN are set, else the embedded hub."""

EPILOG = """\
examples:
  drifttui init                                  chain drift-detector-base -> dev -> staging -> prod
  drifttui init --prefix shop --envs dev,prod    shop-base -> shop-dev -> shop-prod
  DRIFTTUI_HUB=/tmp/hub.db drifttui init         on an embedded hub file of your choice
  CUB_API_URL=http://127.0.0.1:8484/api CUB_TOKEN=... drifttui init   through hub serve
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prefix", default="drift-detector", help="space name prefix (default drift-detector)"
    )
    parser.add_argument(
        "--envs",
        default="dev,staging,prod",
        metavar="LIST",
        help="environments in promotion order, comma-separated (default dev,staging,prod)",
    )


def run(args: argparse.Namespace) -> int:
    from drifttui.hub.chain import init_chain
    from drifttui.hub.console import hub_from_args

    envs = [e for e in args.envs.split(",") if e.strip()]
    with hub_from_args(args) as (_settings, hub):
        report = init_chain(hub, args.prefix, envs)
        for action in report.actions:
            print(action)
        chain = " -> ".join(report.spaces[e] for e in ["base", *[e.strip() for e in envs]])
        state = f"{len(report.actions)} change(s)" if report.changed else "already complete"
        print(f"chain {args.prefix} on {hub.name}: {chain}; {state}")
    return 0
