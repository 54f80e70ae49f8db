"""Docs are production code: every ``drifttui`` command written in README.md, QUICKSTART.md
and WORKFLOW.md runs, in document order, against the embedded hub and an emulated Kubernetes
API (the real ``kubernetes`` client through a kubeconfig), and must not break.

- one-shot commands must exit 0, or 1 where 1 means "drift found" (``--once``, ``diff``);
- services (``--headless``, ``hub serve``) must answer on their port and stop cleanly;
- the TUI (``drifttui``, ``drifttui demo``, ``drifttui --env dev``) runs in a pseudo-terminal,
  must draw, and must quit with ``q`` and exit 0.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster.apiserver import EmulatorThread
from tests.support import ROOT, cli_env

DOCS = ("README.md", "QUICKSTART.md", "WORKFLOW.md")
_BLOCK = re.compile(r"```(?:bash|sh|console)\n(.*?)```", re.S)


def doc_commands(doc: str) -> list[list[str]]:
    """Each drifttui command line of a document's shell blocks, as argv (env assignments
    first). The README's install-and-run line contributes its final ``drifttui`` part."""
    out = []
    for block in _BLOCK.findall((ROOT / doc).read_text()):
        for raw in block.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if "&&" in line:
                line = line.rsplit("&&", 1)[1].strip()
            line = line.replace(".venv/bin/drifttui", "drifttui")
            argv = shlex.split(line, comments=True)
            i = 0
            while i < len(argv) and re.fullmatch(r"[A-Z_]+=.*", argv[i]):
                i += 1
            if i < len(argv) and argv[i] == "drifttui":
                out.append(argv)
    return out


def test_docs_name_the_commands_that_matter() -> None:
    every = [" ".join(a) for doc in DOCS for a in doc_commands(doc)]
    assert "drifttui demo" in every
    assert any(c.startswith("drifttui demo --once") for c in every)
    assert any("--headless" in c for c in every)
    readme_test_line = next(
        ln for ln in (ROOT / "README.md").read_text().splitlines() if "pytest" in ln
    )
    assert readme_test_line.strip() in (ROOT / ".ci/run").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _split_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    env = {}
    while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):
        k, v = argv.pop(0).split("=", 1)
        env[k] = v
    return env, argv


def _is_tui(args: list[str]) -> bool:
    if any(a in args for a in ("--once", "--headless", "--help")):
        return False
    if not args:
        return True
    if args[0] in ("demo", "watch"):
        return True
    return args[0].startswith("-")  # `drifttui --env dev`, `drifttui --config x`


def _run_tui(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # child: the TUI in a 100x30 terminal
        os.chdir(cwd)
        os.execve(
            sys.executable,
            [sys.executable, "-m", "drifttui", *args],
            {**env, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
        )
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    seen = b""
    deadline = time.monotonic() + 60
    drawn_at: float | None = None
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if drawn_at is None and len(seen) > 2000:
                drawn_at = time.monotonic()
        if drawn_at is not None and time.monotonic() - drawn_at > 2.0:
            os.write(fd, b"q")
            break
    end = time.monotonic() + 20
    status = None
    while time.monotonic() < end:
        try:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                os.read(fd, 65536)
        except OSError:
            pass
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return -1, seen.decode(errors="replace")[-500:]
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")[-500:]


def _run_service(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    port = _free_port()
    if "--port" in args:
        args[args.index("--port") + 1] = str(port)
    else:
        args += ["--port", str(port)]
    token_file = None
    if args[:2] == ["hub", "serve"]:
        token_file = cwd / "serve-token"
        token_file.write_text("docs-test-token-0123456789")
        if "--token-file" not in args:
            args += ["--token-file", str(token_file)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "drifttui", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}" + ("/api/space" if token_file else "/health")
    ok = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            code = httpx.get(url, timeout=1).status_code
            ok = code in (200, 401)
            if ok:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return -1, out[-800:]
    return (proc.returncode if ok else -2), out[-800:]


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread()
    yield emu
    emu.close()


@pytest.mark.parametrize("doc", DOCS)
def test_every_drifttui_command_in_the_doc_works(
    doc: str, tmp_path: Path, emulator: EmulatorThread
) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    base_env = cli_env(
        tmp_path, {"KUBECONFIG": str(kubeconfig), "DRIFTTUI_HUB": str(tmp_path / "hub-of-docs.db")}
    )
    failures = []
    for argv in doc_commands(doc):
        extra, argv = _split_env(list(argv))
        args = argv[1:]
        env = {**base_env, **extra}
        if _is_tui(args):
            rc, out = _run_tui(args, env, work)
            ok = rc == 0
        elif "--headless" in args or args[:2] == ["hub", "serve"]:
            rc, out = _run_service(args, env, work)
            ok = rc == 0
        else:
            res = subprocess.run(
                [sys.executable, "-m", "drifttui", *args],
                env=env,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=120,
                input="",
            )
            rc, out = res.returncode, res.stdout[-400:] + res.stderr[-800:]
            ok = rc == 0 or (rc == 1 and (args[:1] == ["diff"] or "--once" in args))
            ok = ok and "Traceback" not in res.stderr
        if not ok:
            failures.append(f"{' '.join(argv)} -> exit {rc}\n{out}")
    assert not failures, "\n\n".join(failures)
