"""Fault injection between the HTTP client and ``hub serve``.

``FaultInjector`` is ASGI middleware around the real app: 429 with Retry-After, 503 before
the request reaches the hub, 500 *after* the hub applied it, and slow answers (delayed before
or after the hub runs). ``DroppingProxy`` is a TCP proxy that drops connections, sometimes
before the request reaches the server and sometimes after the server applied it and before
the answer reaches the client, which is the hardest case for a client that retries.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections import Counter
from typing import Any


class FaultInjector:
    def __init__(
        self,
        app: Any,
        *,
        seed: int,
        rate_429: float = 0.08,
        rate_503: float = 0.06,
        rate_500_after: float = 0.06,
        rate_slow: float = 0.2,
        slow_s: float = 0.25,
    ) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.rates = (rate_429, rate_503, rate_500_after, rate_slow)
        self.slow_s = slow_s
        self.counts: Counter[str] = Counter()
        self.enabled = True

    async def _send_error(self, send: Any, status: int, headers: list[Any]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *headers],
            }
        )
        body = f'{{"Code": "{status}", "Message": "injected fault"}}'.encode()
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        r429, r503, r500, rslow = self.rates
        x = self.rng.random()
        if x < r429:
            self.counts["429"] += 1
            await self._send_error(send, 429, [(b"retry-after", b"1")])
            return
        x -= r429
        if x < r503:
            self.counts["503"] += 1
            await self._send_error(send, 503, [])
            return
        x -= r503
        if x < r500:
            self.counts["500-after-apply"] += 1

            async def swallow(message: Any) -> None:
                return None

            await self.app(scope, receive, swallow)
            await self._send_error(send, 500, [])
            return
        x -= r500
        if x < rslow:
            if self.rng.random() < 0.5:
                self.counts["slow-before"] += 1
                await asyncio.sleep(self.slow_s)
                await self.app(scope, receive, send)
            else:
                self.counts["slow-after"] += 1

                async def late(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        await asyncio.sleep(self.slow_s)
                    await send(message)

                await self.app(scope, receive, late)
            return
        await self.app(scope, receive, send)


class DroppingProxy:
    """TCP proxy on 127.0.0.1 that drops a share of connections."""

    def __init__(self, upstream_port: int, *, seed: int, drop_rate: float = 0.1) -> None:
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.drop_rate = drop_rate
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._connections = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _decide(self) -> str:
        with self._lock:
            self._connections += 1
            n = self._connections
            if self.drop_rate > 0 and n in (2, 3):  # both kinds happen early, for sure
                return "drop-before" if n == 2 else "drop-after"
            x = self.rng.random()
            if x < self.drop_rate / 2:
                return "drop-before"
            if x < self.drop_rate:
                return "drop-after"
            return "pass"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        mode = self._decide()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mode == "drop-before":
            self.counts[mode] += 1
            try:
                client.recv(65536)  # the request arrives, and goes nowhere
            except OSError:
                pass
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def pump(src: socket.socket, dst: socket.socket, drop_answer: bool) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if drop_answer:
                        self.counts["drop-after"] += 1
                        break  # the server has applied the request; the answer is lost
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()

        threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
        pump(upstream, client, mode == "drop-after")

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
