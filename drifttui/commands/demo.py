"""``drifttui demo``: everything on an embedded hub and simulated clusters, offline."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
The whole product with zero setup and no network: a fresh embedded hub initialised like
`drifttui init` (demo-base -> demo-dev -> demo-staging -> demo-prod), one simulated cluster
per environment seeded from its units, and the seed's drift story played live (backend-api
scaled 3 -> 5, frontend-web 2 -> 1, an image changed by hand, a ConfigMap key edited, a
Secret rotated, a label added, a Service port changed, an object deleted).
"""

EPILOG = """\
examples:
  drifttui demo                          the TUI; drift appears as the story plays
  drifttui demo --speed 5                play the story five times faster
  drifttui demo --once                   the snapshot with the whole story applied (exit 1)
  drifttui demo --once -o json -o sarif=drift.sarif -o junit=drift.xml
  drifttui demo --once --analyze         with the analyst's verdicts (offline without a key)
  drifttui demo --headless --port 9090   the watch service: /health /ready /drift /metrics
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from drifttui.cli import snapshot_options

    snapshot_options(parser)
    g = parser.add_argument_group("demo")
    g.add_argument(
        "--headless", action="store_true", help="run the watch service instead of the TUI"
    )
    g.add_argument("--host", default="127.0.0.1", help="service address (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=9090, help="service port (default 9090)")
    g.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="story speed factor (default 1: the story takes 45 s)",
    )
    g.add_argument(
        "--auto-fix",
        action="store_true",
        help="headless: correct safe drift automatically (never in prod)",
    )


def run(args: argparse.Namespace) -> int:
    from drifttui.config import settings_from_args
    from drifttui.errors import ConfigError

    if args.speed <= 0:
        raise ConfigError("--speed must be positive", "drifttui demo")
    if args.once and args.headless:
        raise ConfigError(
            "--once and --headless do not go together",
            "drifttui demo",
            "--once prints one report and exits; --headless runs the service",
        )
    settings = settings_from_args(args)
    if args.once:
        return _once(args, settings)
    if args.headless:
        return _headless(args, settings)
    from drifttui.errors import DrifttuiError

    try:
        from drifttui.tui.app import run_demo  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise DrifttuiError(
            "the TUI is not available in this build", hint="try drifttui demo --once"
        ) from None
    return int(run_demo(args, settings))


def _once(args: argparse.Namespace, settings: object) -> int:
    from drifttui.commands._once import take_snapshot, write_report
    from drifttui.config import Settings
    from drifttui.demo import build_demo
    from drifttui.errors import ConfigError
    from drifttui.logs import setup_logging

    assert isinstance(settings, Settings)
    setup_logging(settings.log_format, verbose=settings.verbose)
    world = build_demo(settings=settings, read_only=settings.read_only)
    try:
        world.advance_to_end()
        engine = world.engine
        names = [e.name for e in world.runtime.environments]
        if args.env:
            unknown = [n for n in args.env if n not in names]
            if unknown:
                raise ConfigError(
                    f"no environment named {', '.join(unknown)}",
                    "--env",
                    f"the demo has {', '.join(names)}",
                )
            names = [n for n in names if n in set(args.env)]
        take_snapshot(engine, names, progress=False)
        return write_report(args, engine, settings, names)
    finally:
        world.close()


def _headless(args: argparse.Namespace, settings: object) -> int:
    from drifttui.config import Settings
    from drifttui.demo import build_demo
    from drifttui.logs import setup_logging
    from drifttui.runtime import auto_fix_selector, build_analyst
    from drifttui.service import Service, ServiceOptions

    assert isinstance(settings, Settings)
    setup_logging(settings.log_format, verbose=settings.verbose)
    import logging

    log = logging.getLogger("drifttui")
    world = build_demo(
        settings=settings,
        speed=args.speed,
        on_story_step=lambda env, text: log.info("🎬 %s", text),
        auto_fix=args.auto_fix,
    )
    service = Service(
        world.engine,
        world.runtime.remediator,
        records=world.runtime.records,
        analyst=build_analyst(settings),
        options=ServiceOptions(auto_fix=args.auto_fix),
        auto_fix_filter=auto_fix_selector(world.runtime),
    )
    log.info(
        "Demo: hub %s, clusters %s",
        world.hub_path,
        ", ".join(c.name for c in world.clusters.values()),
    )
    world.start_story()
    try:
        service.serve(args.host, args.port)
    finally:
        world.close()
    return 0
