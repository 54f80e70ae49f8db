"""A TCP proxy between one client and the emulated API server that a test can cut: the
network partition of one replica, while the others still reach the server.

- ``cut()``: every open connection is closed and new ones are closed on accept (the client
  sees the connection drop at once);
- ``blackhole()``: connections stay open but nothing gets through either way (the client's
  request hangs until its read timeout, as behind a dead router);
- ``heal()``: traffic flows again (new connections; old ones stay dead).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading

UP, CUT, BLACKHOLE = "up", "cut", "blackhole"


class PartitionProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to ``target`` = (host, port)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = UP
        self._lock = threading.Lock()
        self._links: list[tuple[socket.socket, socket.socket]] = []
        self._closed = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="partition-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- control

    def cut(self) -> None:
        with self._lock:
            self.mode = CUT
            links, self._links = self._links, []
        for pair in links:
            _close(*pair)

    def blackhole(self) -> None:
        with self._lock:
            self.mode = BLACKHOLE

    def heal(self) -> None:
        with self._lock:
            self.mode = UP
            links, self._links = self._links, []
        for pair in links:  # connections that lived through a blackhole are out of step
            _close(*pair)

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    # ----------------------------------------------------------------- forwarding

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                mode = self.mode
            if mode == CUT:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._links.append((client, upstream))
            threading.Thread(
                target=self._pump, args=(client, upstream), name="partition-link", daemon=True
            ).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        try:
            while not self._closed.is_set():
                try:
                    readable, _, _ = select.select([client, upstream], [], [], 0.1)
                except (OSError, ValueError):
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if self.mode == UP:
                        peer[s].sendall(data)
                    # cut or blackhole: the bytes are lost
        except OSError:
            return
        finally:
            with self._lock:
                if (client, upstream) in self._links:
                    self._links.remove((client, upstream))
            _close(client, upstream)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()
