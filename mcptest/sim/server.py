"""The bridge simulators as real HTTP servers on 127.0.0.1: one ThreadingHTTPServer serving ``sim.handle()``.

Each request gets its own connection (every answer says ``Connection: close``), so stopping the server
never leaves a kept-alive socket behind and a stopped server refuses new connections at once. The
transport honours ``SimResponse.delay`` (it sleeps, but wakes up and drops the call when the server
stops) and ``SimResponse.drop`` (it closes the connection without writing a byte).

Two control routes belong to the server rather than to the simulated bridge, so they exist only here
(the requests-mock transport reaches the simulator object directly):

    GET /_sim/server                  -> {bridge, pid, port, served}
    GET /_sim/store?chat_jid=...       -> {bridge, rows: [...]}   (the raw message table, oldest first)

``served`` counts the requests this process received on bridge routes other than ``/health``, since it
started: ``/_sim/reset`` does not clear it, so a caller can diff it around a test run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mcptest.errors import UsageError
from mcptest.sim.baileys import BaileysBridgeSim
from mcptest.sim.core import CONTROL_PREFIX, BridgeSim
from mcptest.sim.go import GoBridgeSim
from mcptest.textsafe import clean

HOST = "127.0.0.1"
SERVER_ROUTE = CONTROL_PREFIX + "server"
STORE_ROUTE = CONTROL_PREFIX + "store"
#: The bridges a simulator exists for, with the port each listens on by default.
KINDS: dict[str, tuple[type[BridgeSim], int]] = {
    "go": (GoBridgeSim, 8080),
    "baileys": (BaileysBridgeSim, 8081),
}
#: The largest request body accepted (a batch of 1000 messages is well below it).
MAX_BODY = 32 * 1024 * 1024


def make_sim(kind: str, db: str | None = None) -> BridgeSim:
    """A fresh simulator of ``kind`` (``go`` or ``baileys``), in memory or in the SQLite file ``db``."""
    try:
        cls = KINDS[kind][0]
    except KeyError:
        raise UsageError(f"unknown simulator {kind!r} (expected one of: {', '.join(KINDS)})") from None
    return cls(db=db or ":memory:", clock=time.time)  # wall clock: stored timestamps are unix seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping on injected latency never keeps the process alive
    block_on_close = False
    allow_reuse_address = True  # a restarted simulator gets its port back despite TIME_WAIT sockets
    request_queue_size = 512  # 100 clients connecting at once must not overflow the accept queue

    def __init__(self, address: tuple[str, int], sim: BridgeSim, log_requests: bool) -> None:
        self.sim = sim
        self.log_requests = log_requests
        self.closing = threading.Event()
        self.served = 0
        self.counter_lock = threading.Lock()
        super().__init__(address, _Handler)

    def count(self, path: str) -> None:
        if not path.startswith(CONTROL_PREFIX) and path != "/health":
            with self.counter_lock:
                self.served += 1


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "mcptest-sim"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self.close_connection = True
        parts = urlsplit(self.path)
        path = unquote(parts.path) or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._write(400, {"success": False, "error": "invalid Content-Length"})
            return
        body = self.rfile.read(length) if length else None
        sim = self.server.sim
        if self.command == "GET" and path == SERVER_ROUTE:
            self._write(200, {"bridge": sim.name, "pid": os.getpid(), "port": self.server.server_address[1],
                              "served": self.server.served})
            return
        if self.command == "GET" and path == STORE_ROUTE:
            chat = query["chat_jid"][0] if query.get("chat_jid") else None
            self._write(200, {"bridge": sim.name, "rows": sim.stored(chat)})
            return
        self.server.count(path)
        response = sim.handle(self.command, path, query, body)
        if response.delay > 0 and self.server.closing.wait(response.delay):
            return  # stopped while "busy": the client sees the connection close without an answer
        if response.drop:
            return  # nothing written: the connection is closed without an answer
        self._write(response.status, response.body, response.headers)

    def _write(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (its read timeout) before the injected latency ended

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            # the request line is the client's text: shown without its control characters
            sys.stderr.write(clean(f"{self.address_string()} {format % args}") + "\n")

    def handle_one_request(self) -> None:
        # A client that vanished mid-request is not an error worth a traceback on stderr.
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle_one_request()


@dataclass
class RunningServer:
    """A simulator served in a background thread; ``stop()`` closes the socket (new connections refused)."""

    sim: BridgeSim
    httpd: _Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def served(self) -> int:
        """Requests received on bridge routes other than /health since the server started."""
        return self.httpd.served

    def stop(self) -> None:
        """Stop serving, wake handlers sleeping on latency (they drop their call), close the socket."""
        self.httpd.closing.set()
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join(timeout=10)
        self.httpd.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(sim: BridgeSim, port: int = 0, *, log_requests: bool = False) -> RunningServer:
    """Serve ``sim`` on 127.0.0.1:``port`` (0: any free port) in a daemon thread.

    Raises UsageError naming the port when it is taken or cannot be bound.
    """
    try:
        httpd = _Server((HOST, port), sim, log_requests)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {HOST} is already in use") from None
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"mcptest-sim-{sim.name}-{httpd.server_address[1]}", daemon=True)
    thread.start()
    return RunningServer(sim, httpd, thread)


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
