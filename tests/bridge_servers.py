"""Tiny real HTTP servers on 127.0.0.1 for the bridge preflight tests, and a bridge process to start.

In tests: ``with BridgeServer(lambda n: Reply(200, {"status": "ok"})) as server: ... server.url``;
a server that misbehaves below HTTP (slow, truncated, binary, endless): ``with RawServer([b"SSH-2.0-x\\r\\n"])``.
As a script it is a stand-in bridge that a ``start`` command can launch::

    python bridge_servers.py serve --port 8123            # serves /health ok until SIGTERM
    python bridge_servers.py daemon --port 8123 --pidfile p  # starts `serve` detached, exits 0
    python bridge_servers.py kill --pidfile p             # stops what `daemon` started
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    """What the server answers: status, body (a dict is sent as JSON), headers, an optional delay."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"status": "ok"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    trickle: float = 0.0  # seconds between 1 KiB pieces of the body

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Responder = Callable[[int], Reply]


class BridgeServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 answering every GET with ``respond(request_number)``."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.hits = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.hits += 1
                    number = owner.hits
                    owner.paths.append(self.path)
                reply = owner.respond(number)
                if reply.delay:
                    owner._closing.wait(reply.delay)  # cut short when the server closes
                payload = reply.payload()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                if reply.content_length:
                    self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if not reply.trickle:
                    self.wfile.write(payload)
                    return
                for start in range(0, len(payload), 1024):
                    self.wfile.write(payload[start : start + 1024])
                    if owner._closing.wait(reply.trickle):
                        return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout tests) is expected, not an error

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    def __enter__(self) -> BridgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def always(reply: Reply) -> Responder:
    return lambda _n: reply


def degraded_for(seconds: float) -> Responder:
    """503 degraded until ``seconds`` after the first request, then ok: a bridge that becomes healthy."""
    first: list[float] = []

    def respond(_n: int) -> Reply:
        first.append(time.monotonic())
        return Reply() if first[-1] - first[0] >= seconds else Reply(503, {"status": "degraded"})

    return respond


# --------------------------------------------------------------------------- misbehaving servers

#: A step of a raw answer: bytes to send, a pause in seconds, or one of the markers below.
Step = bytes | float | str
RESET = "reset"  # end the connection with a TCP reset (RST) instead of a clean close
HANG = "hang"  # send nothing more and keep the connection open until the client goes away
Script = Callable[[str], Iterable[Step]]  # the request path -> the steps of the answer


def drip(data: bytes, every: float) -> Iterator[Step]:
    """``data`` one byte at a time, ``every`` seconds apart."""
    for byte in data:
        yield bytes([byte])
        yield every


class RawServer:
    """A TCP server on 127.0.0.1:0 that answers each request with raw steps: the hostile bridge.

    It reads the request head first (so that closing does not turn into a reset; ``read_request=False``
    answers at once, for a client that sends no HTTP request, such as a TLS client hello), then plays
    ``script(path)``. Endless scripts end when the client goes away or the server closes; every
    connection thread is joined on exit, so a test leaves nothing running.
    """

    def __init__(self, script: Script | Iterable[Step], *, read_request: bool = True) -> None:
        self.read_request = read_request
        self.script: Script = script if callable(script) else (lambda _path: script)  # a generator: once
        self.paths: list[str] = []
        self.requests: list[bytes] = []
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._accepter = threading.Thread(target=self._accept, name="raw-server-accept")

    def __enter__(self) -> RawServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._accepter.join(timeout=5)
        self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="raw-server-conn")
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            head = b""
            with contextlib.suppress(OSError):
                while self.read_request and b"\r\n\r\n" not in head and len(head) < 16384:
                    data = conn.recv(4096)
                    if not data:
                        break
                    head += data
            path = head.split(b"\r\n", 1)[0].split(b" ")[1:2]
            with self._lock:
                self.requests.append(head)
                self.paths.append(path[0].decode("latin-1") if path else "")
            with contextlib.suppress(OSError):
                for step in self.script(self.paths[-1] if path else ""):
                    if self._closing.is_set():
                        return
                    if isinstance(step, bytes):
                        conn.sendall(step)
                    elif step == RESET:
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    elif step == HANG:
                        while not self._closing.wait(0.05) and not _peer_gone(conn):
                            pass
                        return
                    elif isinstance(step, float | int) and self._closing.wait(step):
                        return


def _peer_gone(conn: socket.socket) -> bool:
    """Whether the client closed its end (readable with nothing to read), without blocking."""
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


@contextlib.contextmanager
def silent_listener() -> Iterator[str]:
    """A port that accepts TCP connections (kernel backlog) and never answers; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def script_command(*args: str) -> str:
    """A shell-quoted command line that runs this file as a script with ``args``."""
    import shlex

    return shlex.join([sys.executable, str(Path(__file__).resolve()), *args])


def port_refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True


# --------------------------------------------------------------------------- script mode


def _serve(port: int, status: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = json.dumps({"status": status, "connected": status == "ok", "pid": os.getpid()}).encode()
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"serving /health on 127.0.0.1:{port}", flush=True)
    server.serve_forever(poll_interval=0.1)


def _daemon(port: int, pidfile: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outside the starter's process group, like a container
    )
    pidfile.write_text(str(child.pid))
    print(f"started {child.pid}", flush=True)


def _kill(pidfile: Path) -> int:
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            return 0
        time.sleep(0.05)
    return 1


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (dead, not yet reaped by init) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stand-in bridge for the preflight tests")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--status", default="ok")
    daemon = sub.add_parser("daemon")
    daemon.add_argument("--port", type=int, required=True)
    daemon.add_argument("--pidfile", type=Path, required=True)
    kill = sub.add_parser("kill")
    kill.add_argument("--pidfile", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        _serve(args.port, args.status)
    elif args.cmd == "daemon":
        _daemon(args.port, args.pidfile)
    else:
        return _kill(args.pidfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
