"""The ``drifttui`` command: the TUI by default, ``--once`` snapshots, and subcommands.

Start-up must stay light (``drifttui diff`` and ``--help`` in well under 0.3 s): this module
and every ``drifttui.commands.*`` module import only the standard library at top level.
Each command module defines ``add_arguments(parser)`` and ``run(args) -> int`` and imports
what it needs inside ``run``.

Exit codes follow ``kubectl diff``: 0 clean, 1 drift, 2 error. Every DrifttuiError becomes
one line on stderr and exit 2, never a traceback (set DRIFTTUI_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from drifttui import __version__

# (command name, module under drifttui.commands, one-line help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("diff", "diff", "compare desired manifests with live objects saved from a cluster"),
    ("demo", "demo", "the TUI (or --once / --headless) on an embedded hub and simulated cluster"),
    ("watch", "watch", "watch environments; --headless runs the service with /health, /metrics"),
    ("fix", "fix", "bulk-correct drift selected by a filter or set (plan, confirm, apply)"),
    ("apply", "apply", "server-side apply every unit of an environment to its cluster"),
    ("init", "init", "create the ConfigHub environment chain, filters, sets and base units"),
    ("import", "import_", "import Kubernetes manifests as units of a space"),
    ("promote", "promote", "promote units from one environment to the next (clone or upgrade)"),
    ("rollback", "rollback", "restore a unit to an earlier revision (as a new revision)"),
    ("hub", "hub", "inspect the hub (spaces, units, sets, filters, ...) or serve it over HTTP"),
    ("config", "config", "show the effective settings and where each came from"),
)

ROOT_EPILOG = """\
examples:
  drifttui demo                      the TUI on an embedded hub and simulated cluster
  drifttui demo --once               snapshot of the demo's drift, then exit (1: drift found)
  drifttui                           the TUI on the configured environments
  drifttui --once -o table -o sarif=drift.sarif
                                     snapshot report(s); exit 0 clean, 1 drift, 2 error
  drifttui diff --desired app.yaml --live live.json
  drifttui init --prefix shop        ConfigHub spaces shop-base -> dev -> staging -> prod
  drifttui watch --headless --port 9090

environment: NAMESPACE, CUB_SPACE, CUB_API_URL, CUB_TOKEN, CLAUDE_API_KEY, AUTO_FIX,
KUBECONFIG, DRIFTTUI_HUB, NO_COLOR. Flags override the environment, which overrides the
config file (--config). Exit codes: 0 clean, 1 drift, 2 error.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=100)


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after any subcommand (defaults suppressed so a value
    given before the subcommand is not reset by the subparser)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (TOML or YAML) with environments",
    )
    g.add_argument(
        "--hub",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="embedded hub database file (env DRIFTTUI_HUB)",
    )
    g.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS,
        help="log line format on stderr (default text)",
    )
    g.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="more log detail"
    )
    return p


def snapshot_options(parser: argparse.ArgumentParser) -> None:
    """The ``--once`` flags, shared by the root command and ``demo``."""
    g = parser.add_argument_group("snapshot (--once)")
    g.add_argument("--once", action="store_true", help="print one snapshot report and exit")
    g.add_argument(
        "-o",
        "--output",
        action="append",
        metavar="FORMAT[=PATH]",
        default=None,
        help="table|json|yaml|markdown|sarif|junit; repeatable; FORMAT=PATH "
        "writes to a file (default: table)",
    )
    g.add_argument(
        "--env",
        action="append",
        metavar="NAME",
        default=None,
        help="only these environments (repeatable)",
    )
    g.add_argument(
        "--analyze",
        action="store_true",
        help="add the analyst's verdicts (Claude with CLAUDE_API_KEY, else offline)",
    )
    g.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="Terraform's codes: 0 clean, 2 drift, 1 error",
    )
    g.add_argument("--readonly", action="store_true", help="disable every write")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line. With ``argv``, a subcommand it does not name is listed (for
    ``--help``) but not built: ``drifttui --once`` imports no command module but its own."""
    named = None if argv is None else set(argv)
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="drifttui",
        description="Live Kubernetes drift against ConfigHub: watch, explain, fix, promote, "
        "roll back. Without a subcommand, opens the TUI.",
        epilog=ROOT_EPILOG,
        formatter_class=_Formatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"drifttui {__version__}")
    snapshot_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in COMMANDS:
        if named is not None and name not in named:
            sub.add_parser(name, help=help_text)  # not chosen: argparse needs its name only
            continue
        mod = _command_module(module)
        sp = sub.add_parser(
            name,
            help=help_text,
            description=getattr(mod, "DESCRIPTION", help_text),
            epilog=getattr(mod, "EPILOG", None),
            formatter_class=_Formatter,
            parents=[common],
        )
        mod.add_arguments(sp)
        sp.set_defaults(_module=module)
    return parser


def _command_module(module: str) -> ModuleType:
    return importlib.import_module(f"drifttui.commands.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    from drifttui.errors import DrifttuiError

    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None) or "root"
    try:
        return int(_command_module(module).run(args))
    except DrifttuiError as exc:
        print(f"drifttui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("drifttui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("DRIFTTUI_DEBUG"):
            raise
        where = type(exc).__name__
        print(
            f"drifttui: internal error ({where}): {' '.join(str(exc).split())[:300]}; "
            "rerun with DRIFTTUI_DEBUG=1 for a traceback and report it",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
