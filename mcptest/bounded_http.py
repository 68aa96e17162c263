"""One HTTP GET with one wall-clock deadline and a size cap, where anything the server sends is hostile.

requests and urllib3 bound each socket operation, not the whole exchange: a server that sends one
byte a second, or ``100 Continue`` forever, never times out. Here every receive waits at most until
the deadline (``connect_timeout + read_timeout`` after the start), the request runs in a daemon
thread that the caller stops waiting for at the deadline (DNS lookups cannot be interrupted), and
http.client parses what arrived (status line, headers, chunked or counted bodies, its line and header
limits). The result is data, never an exception: a body, or a failure (``unreachable`` or ``error``)
whose reason says what was slow or wrong, with the server's bytes escaped and cut short. The URL, the
proxy, TLS trust and the request's bytes are prepared in ``http_target.py``.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from mcptest.http_target import Failed, Target, parse_target, proxy_for, request_bytes, ssl_words, tls_context
from mcptest.textsafe import show_bytes, show_text

__all__ = ["Fetched", "Pending"]

#: Bytes of an answer's start kept to show in reasons.
HEAD_BYTES = 48

#: How long after its deadline the caller still waits for the request thread to report.
GRACE = 0.25

#: An answer (interim answers, status line, headers and body) larger than this is refused whatever
#: its headers say: it bounds memory also where http.client would read to the end of the stream.
MAX_ANSWER_BYTES = 1024 * 1024


@dataclass
class Fetched:
    """What one bounded GET came back with: an HTTP status and body, or a failure."""

    http_status: int | None = None
    body: bytes | None = None  # the whole body; None when it was not read (failure, redirect)
    location: str | None = None  # a redirect's Location header, as sent
    failure: tuple[str, str] | None = None  # (status, reason): ("unreachable" | "error", why)
    elapsed: float = 0.0  # seconds from the start to the answer (or to the deadline)


class Pending:
    """A GET running in its own thread; ``result()`` returns by the deadline (plus a short grace)."""

    def __init__(self, url: str, *, connect_timeout: float, read_timeout: float, max_body: int) -> None:
        self._exchange = _Exchange(url, max(connect_timeout, 0.001), max(read_timeout, 0.001), max_body)
        thread = threading.Thread(target=self._exchange.run, name="mcptest-http-get", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no thread to spare: run it here, bounded by everything but a DNS lookup
            self._exchange.run()

    def result(self) -> Fetched:
        exchange = self._exchange
        if not exchange.done.wait(max(exchange.deadline + GRACE - time.monotonic(), 0.0)):
            # Stuck where no timeout reaches (a DNS lookup): the thread is left to end by itself.
            return Fetched(
                http_status=exchange.http_status,
                failure=("unreachable", exchange.too_late()),
                elapsed=exchange.total,
            )
        assert exchange.fetched is not None
        return exchange.fetched



# --------------------------------------------------------------------------- the exchange


class _Deadline(Exception):
    """The exchange's wall-clock deadline passed."""


class _Stalled(Exception):
    """A receive waited ``read_timeout`` seconds for nothing."""




class _Wire(io.RawIOBase):
    """The socket as a raw stream: no receive waits past the deadline; counts and keeps the first bytes."""

    def __init__(self, sock: socket.socket, read_timeout: float, deadline: float) -> None:
        super().__init__()
        self.sock = sock
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.limit = MAX_ANSWER_BYTES
        self.received = 0
        self.head = b""
        self.first_line_done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline()
        self.sock.settimeout(min(remaining, self.read_timeout))
        try:
            count = self.sock.recv_into(buffer)
        except TimeoutError:
            raise _Deadline() if remaining <= self.read_timeout else _Stalled() from None
        if self.received + count > self.limit:
            raise Failed("error", f"answer larger than {self.limit // 1024} KiB in all (headers and body)")
        if count:
            chunk = bytes(buffer[:count]) if not self.first_line_done or len(self.head) < HEAD_BYTES else b""
            self.head = (self.head + chunk)[: HEAD_BYTES + 1]
            self.first_line_done = self.first_line_done or b"\n" in chunk
            self.received += count
        return count


class _Source:
    """What http.client.HTTPResponse reads from: one buffered reader shared by interim and final answers."""

    def __init__(self, reader: io.BufferedReader) -> None:
        self.reader = reader

    def makefile(self, mode: str) -> io.BufferedReader:
        return self.reader


class _Exchange:
    def __init__(self, url: str, connect_timeout: float, read_timeout: float, max_body: int) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body = max_body
        self.total = connect_timeout + read_timeout
        self.started = time.monotonic()
        self.deadline = self.started + self.total
        self.done = threading.Event()
        self.fetched: Fetched | None = None
        # Progress, read by too_late() and by the caller when it stops waiting.
        self.phase = "connect"  # connect, tunnel, tls, answer, body
        self.proxy: str | None = None
        self.wire: _Wire | None = None
        self.http_status: int | None = None
        self.body_bytes = 0
        self.interim = 0

    def run(self) -> None:
        try:
            fetched = self._fetch()
        except Failed as exc:
            fetched = Fetched(http_status=self.http_status, failure=(exc.status, exc.reason))
        except Exception as exc:  # a verdict in every case: a bug here must not become a crash or a hang
            fetched = Fetched(
                http_status=self.http_status,
                failure=("error", f"probe failed: {type(exc).__name__}: {show_text(str(exc))}"),
            )
        fetched.elapsed = time.monotonic() - self.started
        self.fetched = fetched
        self.done.set()

    # -- progress, for reasons

    def progress(self) -> str:
        """What was incomplete, in a few words."""
        if self.phase == "connect":
            return "no connection yet (DNS lookup or connect still running)"
        if self.phase == "tunnel":
            return "tunnel not open yet"
        if self.phase == "tls":
            return "TLS handshake incomplete"
        wire = self.wire
        if self.phase == "body":
            return f"body incomplete ({self.body_bytes} bytes so far)"
        if wire is None or wire.received == 0:
            return "no status line"
        interim = f" after {self.interim} interim 1xx answer(s)" if self.interim else ""
        what = "headers incomplete" if wire.first_line_done else "status line incomplete"
        return f"{what}{interim} ({wire.received} bytes so far: {show_bytes(wire.head, HEAD_BYTES)})"

    def too_late(self) -> str:
        return f"no complete answer within {self.total:g} s (connect + read timeout): {self.progress()}"

    def stalled(self) -> str:
        wire = self.wire
        if self.phase in ("answer", "tunnel") and (wire is None or wire.received == 0):
            return f"no answer within {self.read_timeout:g} s (read timeout)"
        return f"no data for {self.read_timeout:g} s (read timeout): {self.progress()}"

    # -- the steps

    def _fetch(self) -> Fetched:
        target = parse_target(self.url)
        proxy = proxy_for(target)
        address = (proxy[0], proxy[1]) if proxy else (target.host, target.port)
        if proxy:
            self.proxy = f"{proxy[0]}:{proxy[1]}"
        sock = self._connect(*address)
        try:
            if target.https:
                if proxy:
                    self._tunnel(sock, target, proxy[2])
                sock = self._tls(sock, target.host)
            request_target = target.url if proxy and not target.https else target.path
            extra = [f"Proxy-Authorization: {proxy[2]}"] if proxy and proxy[2] and not target.https else []
            self.phase = "answer"
            self._send(sock, request_bytes(target, request_target, extra))
            self.wire = _Wire(sock, self.read_timeout, self.deadline)
            source = _Source(io.BufferedReader(self.wire))
            response = self._answer(source)
            status = response.status
            if 300 <= status < 400:
                return Fetched(http_status=status, location=response.getheader("Location"))
            self.phase = "body"
            return Fetched(http_status=status, body=self._body(response))
        except _Deadline:
            raise self._failed("unreachable", self.too_late()) from None
        except _Stalled:
            raise self._failed("unreachable", self.stalled()) from None
        except ssl.SSLError as exc:
            raise self._failed("error", f"TLS error: {ssl_words(exc)}") from None
        except http.client.RemoteDisconnected:
            raise self._failed("unreachable", self._closed()) from None
        except (http.client.BadStatusLine, http.client.UnknownProtocol):
            raise self._failed("error", f"not an HTTP answer: {show_bytes(self._head(), HEAD_BYTES)}") from None
        except http.client.IncompleteRead:
            raise self._failed("error", f"HTTP {self.http_status}, chunked body cut short or malformed") from None
        except http.client.HTTPException as exc:  # LineTooLong, more than 100 headers
            where = f"HTTP {self.http_status}, " if self.phase == "body" else ""
            raise self._failed("error", f"{where}malformed HTTP answer: {show_text(str(exc))}") from None
        except ConnectionResetError:
            raise self._failed("unreachable", self._reset()) from None
        except OSError as exc:
            raise self._failed("unreachable", f"connection failed: {show_text(exc.strerror or str(exc))}") from None
        finally:
            sock.close()

    def _failed(self, status: str, reason: str) -> Failed:
        """The failure, naming the proxy when it was the proxy that answered (or did not)."""
        return Failed(status, f"proxy {self.proxy}: {reason}" if self.phase == "tunnel" else reason)

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline()
        return remaining

    def _connect(self, host: str, port: int) -> socket.socket:
        via = f" (proxy {self.proxy})" if self.proxy else ""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise Failed("unreachable", f"DNS lookup of {show_text(host)} failed{via}") from None
        problem = "no address"
        for family, kind, proto, _, address in infos:
            try:
                remaining = self._remaining()
            except _Deadline:
                raise Failed("unreachable", self.too_late()) from None
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(min(self.connect_timeout, remaining))
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except ConnectionRefusedError:
                problem = "connection refused"
            except TimeoutError:
                problem = f"no connection within {self.connect_timeout:g} s (connect timeout)"
            except OSError as exc:
                problem = f"connection failed: {exc.strerror or exc}"
            sock.close()
        raise Failed("unreachable", problem + via)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.settimeout(min(self._remaining(), self.read_timeout))
        try:
            sock.sendall(data)
        except TimeoutError:
            raise _Stalled() from None

    def _tunnel(self, sock: socket.socket, target: Target, authorization: str | None) -> None:
        self.phase = "tunnel"
        lines = [f"CONNECT {target.authority} HTTP/1.1", f"Host: {target.authority}"]
        if authorization:
            lines.append(f"Proxy-Authorization: {authorization}")
        self._send(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        self.wire = _Wire(sock, self.read_timeout, self.deadline)
        answer = http.client.HTTPResponse(_Source(io.BufferedReader(self.wire, 1)), method="CONNECT")  # type: ignore[arg-type]
        answer.begin()
        if answer.status != 200:
            raise Failed("error", f"proxy {self.proxy} refused the tunnel: HTTP {answer.status}")
        self.wire = None

    def _tls(self, sock: socket.socket, host: str) -> ssl.SSLSocket:
        self.phase = "tls"
        wrapped = tls_context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        try:
            remaining = self._remaining()
            wrapped.settimeout(min(remaining, self.read_timeout))
            try:
                wrapped.do_handshake()
            except TimeoutError:
                raise _Deadline() if remaining <= self.read_timeout else _Stalled() from None
        except BaseException:
            wrapped.close()  # the plain socket now belongs to it
            raise
        return wrapped

    def _answer(self, source: _Source) -> http.client.HTTPResponse:
        """The final answer's status line and headers, after any interim 1xx answers."""
        while True:
            response = http.client.HTTPResponse(source, method="GET")  # type: ignore[arg-type]
            response.begin()  # skips 100 Continue itself; other 1xx come back here
            self.http_status = response.status
            if response.status >= 200:
                return response
            if response.status == 101:
                raise Failed("error", "HTTP 101, the server switched protocols")
            self.interim += 1
            response.fp = None  # type: ignore[assignment]  # else closing (or collecting) it closes the reader

    def _body(self, response: http.client.HTTPResponse) -> bytes:
        status = response.status
        declared = response.length  # None for chunked or close-delimited bodies
        if declared is not None and declared > self.max_body:
            raise Failed("error", f"HTTP {status}, body larger than {self.max_body // 1024} KiB")
        chunks: list[bytes] = []
        while True:
            chunk = response.read1(min(16384, self.max_body + 1 - self.body_bytes))  # one receive at most
            if not chunk:
                break
            chunks.append(chunk)
            self.body_bytes += len(chunk)
            if self.body_bytes > self.max_body:
                raise Failed("error", f"HTTP {status}, body larger than {self.max_body // 1024} KiB")
        if declared is not None and response.length:  # the connection closed before Content-Length bytes
            raise Failed("error", f"HTTP {status}, body cut short ({self.body_bytes} of {declared} bytes)")
        return b"".join(chunks)

    def _head(self) -> bytes:
        return self.wire.head if self.wire is not None else b""

    def _closed(self) -> str:
        wire = self.wire
        if wire is None or wire.received == 0:
            return "connection closed without an answer"
        return f"connection closed: {self.progress()}"

    def _reset(self) -> str:
        wire = self.wire
        if self.phase in ("connect", "tls") or wire is None or wire.received == 0:
            return "connection reset"
        return f"connection reset: {self.progress()}"
