"""``drifttui watch``: the engine until stopped; ``--headless`` is the service."""

from __future__ import annotations

import argparse
from collections.abc import Callable

DESCRIPTION = """\
Watch the configured environments (Kubernetes watches, not polling) against their ConfigHub
spaces until stopped. With --headless it runs as a service: the seed's log lines on stderr
(--log-format json for structured logs), drift records in the hub, optional auto-fix, and
HTTP endpoints /health (liveness), /ready (every watch listed), /drift (the current report,
the same JSON schema as --once -o json) and /metrics (Prometheus). Without --headless it
opens the TUI, like `drifttui` with no subcommand."""

EPILOG = """\
examples:
  drifttui watch --headless                        service on 0.0.0.0:9090 in a pod, 127.0.0.1 here
  drifttui watch --headless --port 9100 --log-format json
  AUTO_FIX=true drifttui watch --headless          correct safe drift (never production)
  drifttui watch --headless --leader-elect --lease-namespace drift-detector
                                                   several replicas, one writer (Lease)
  curl -s localhost:9090/drift | jq .summary       the live drift report
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="run as a service (no TUI)")
    parser.add_argument(
        "--host", default=None, help="service address (default 127.0.0.1; 0.0.0.0 in a pod)"
    )
    parser.add_argument("--port", type=int, default=9090, help="service port (default 9090)")
    parser.add_argument(
        "--env",
        action="append",
        metavar="NAME",
        default=None,
        help="only these environments (repeatable)",
    )
    parser.add_argument(
        "--auto-fix",
        action="store_true",
        default=None,
        help="correct safe drift automatically (also AUTO_FIX=true)",
    )
    parser.add_argument(
        "--no-analysis", action="store_true", help="do not run the analyst on new drift"
    )
    parser.add_argument("--readonly", action="store_true", help="never write")
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="only the holder of a Lease writes (several replicas)",
    )
    parser.add_argument(
        "--lease-namespace",
        default=None,
        help="namespace of the Lease (default: the pod's, else drift-detector)",
    )
    parser.add_argument("--lease-name", default="drifttui-leader", help="Lease name")


def run(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from drifttui.config import settings_from_args
    from drifttui.logs import setup_logging
    from drifttui.runtime import auto_fix_selector, build_analyst, build_runtime
    from drifttui.service import Service, ServiceOptions

    settings = settings_from_args(args, auto_fix=args.auto_fix)
    if not args.headless:
        from drifttui.commands.root import run_tui

        return run_tui(args, settings)
    secrets = [s.reveal() for s in (settings.cub_token, settings.claude_api_key) if s]
    setup_logging(settings.log_format, verbose=settings.verbose, secrets=secrets)
    runtime = build_runtime(settings, env_names=args.env)
    election = None
    try:
        auto_fix = bool(settings.auto_fix) and not settings.read_only
        if auto_fix:
            for st in runtime.engine.states.values():
                st.env = replace(st.env, auto_fix=True)
        if args.leader_elect:
            election = _start_election(args, runtime)
        is_leader: Callable[[], bool] = election.is_leader if election else _always
        service = Service(
            runtime.engine,
            runtime.remediator,
            records=runtime.records,
            analyst=None if args.no_analysis else build_analyst(settings),
            options=ServiceOptions(auto_fix=auto_fix, analyze=not args.no_analysis),
            is_leader=is_leader,
            auto_fix_filter=auto_fix_selector(runtime),
        )
        in_pod = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        host = args.host or ("0.0.0.0" if in_pod else "127.0.0.1")
        service.serve(host, args.port)
    finally:
        if election is not None:
            election.stop()  # step down and hand the Lease over before exiting
        runtime.close()
    return 0


def _always() -> bool:
    return True


class _Election:
    """The leader-election thread of this process; ``stop()`` releases the Lease."""

    def __init__(self, elector: object) -> None:
        import threading

        from drifttui.cluster.lease import LeaderElector

        assert isinstance(elector, LeaderElector)
        self.elector = elector
        self.is_leader = elector.is_leader
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=elector.run, args=(self._stop,), name="leader-election", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.elector.settings.renew_deadline_s)


def _start_election(args: argparse.Namespace, runtime: object) -> _Election:
    import os
    import socket
    import uuid

    from drifttui.cluster.lease import LeaderElector, LeaseSettings, LeaseTransport
    from drifttui.errors import ConfigError
    from drifttui.runtime import Runtime

    assert isinstance(runtime, Runtime)
    clusters = list(runtime.clusters.values())
    transport = getattr(clusters[0], "transport", None) if clusters else None
    if transport is None or not hasattr(transport, "call_json"):
        raise ConfigError("--leader-elect needs a Kubernetes cluster", "watch --headless")
    namespace = args.lease_namespace or _pod_namespace() or "drift-detector"
    settings = LeaseSettings(name=args.lease_name, namespace=namespace)
    # unique even for two processes on one host (client-go adds a UUID the same way)
    identity = f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    lease = LeaseTransport(
        transport, namespace, args.lease_name, timeout_s=settings.renew_deadline_s / 2
    )
    return _Election(LeaderElector(lease, identity, settings))


def _pod_namespace() -> str | None:
    from pathlib import Path

    p = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    try:
        return p.read_text().strip() or None
    except OSError:
        return None
