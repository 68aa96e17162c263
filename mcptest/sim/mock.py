"""requests-mock transport for the bridge simulators: latency moves a fake clock, faults raise errors.

requests-mock is an optional dependency (the ``sim`` extra): it is imported when a transport is installed, not
when this module is, and a missing one is a ``ModuleNotFoundError`` that says ``pip install mcptest[sim]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from mcptest.sim.behaviour import BaileysBridgeSim, BridgeSim, FakeClock, GoBridgeSim

GO_URL = "http://127.0.0.1:8080"
BAILEYS_URL = "http://127.0.0.1:8081"

if TYPE_CHECKING:
    import requests_mock


def requests_mock_module() -> ModuleType:
    """The ``requests_mock`` module, or a ``ModuleNotFoundError`` naming the extra that installs it."""
    try:
        import requests_mock
    except ModuleNotFoundError as exc:
        if exc.name != "requests_mock":
            raise
        raise ModuleNotFoundError(
            "the requests-mock transport of the bridge simulators needs requests-mock, which is not installed: "
            "pip install mcptest[sim]",
            name="requests_mock",
        ) from None
    return requests_mock


def read_timeout(timeout: Any) -> float | None:
    """The read part of a requests ``timeout`` (a number, a ``(connect, read)`` pair, or None)."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else timeout[0]
    return None if timeout is None else float(timeout)


class MockTransport:
    """Serves one simulator at ``base_url`` on a ``requests_mock.Mocker`` through ``sim.handle()``.

    Injected latency is not slept: it advances ``clock``. Latency above the request's read timeout
    advances the clock by the timeout and raises ``ReadTimeout``; a dropped answer raises
    ``ConnectionError``; with ``down`` set every call is refused at once, like a closed port.
    """

    def __init__(self, sim: BridgeSim, base_url: str, clock: FakeClock) -> None:
        self.sim = sim
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.down = False
        self.refused = 0

    def install(self, mocker: requests_mock.Mocker) -> MockTransport:
        pattern = re.compile("^" + re.escape(self.base_url) + r"(?:[/?#].*)?$")
        mocker.register_uri(requests_mock_module().ANY, pattern, content=self._answer)
        return self

    def _answer(self, request: Any, context: Any) -> bytes:
        if self.down:
            self.refused += 1
            raise requests.exceptions.ConnectionError(f"connection refused: {self.base_url} is down")
        parts = urlsplit(request.url)
        base_path = urlsplit(self.base_url).path
        path = (
            unquote(parts.path[len(base_path) :] if parts.path.startswith(base_path) else parts.path) or "/"
        )
        body = request.body.encode() if isinstance(request.body, str) else request.body
        response = self.sim.handle(request.method, path, parse_qs(parts.query, keep_blank_values=True), body)
        limit = read_timeout(request.timeout)
        if limit is not None and response.delay > limit:
            self.clock.advance(limit)
            raise requests.exceptions.ReadTimeout(f"read timed out after {limit}s: {request.url}")
        self.clock.advance(response.delay)
        if response.drop:
            raise requests.exceptions.ConnectionError(f"connection dropped: {request.url}")
        context.status_code = response.status
        context.headers.update(response.headers)
        return response.content()


@dataclass
class MockBridges:
    """Both simulators, their transports and the shared fake clock, as set up by ``mock_bridges``."""

    clock: FakeClock
    go: GoBridgeSim
    baileys: BaileysBridgeSim
    go_transport: MockTransport
    baileys_transport: MockTransport
    mocker: requests_mock.Mocker

    def close(self) -> None:
        self.go.close()
        self.baileys.close()


def install_bridges(
    mocker: requests_mock.Mocker,
    clock: FakeClock | None = None,
    go_url: str = GO_URL,
    baileys_url: str = BAILEYS_URL,
) -> MockBridges:
    """Install a Go and a Baileys simulator (in-memory SQLite) on ``mocker`` at their default URLs."""
    clock = clock or FakeClock()
    go, baileys = GoBridgeSim(clock=clock), BaileysBridgeSim(clock=clock)
    return MockBridges(
        clock,
        go,
        baileys,
        MockTransport(go, go_url, clock).install(mocker),
        MockTransport(baileys, baileys_url, clock).install(mocker),
        mocker,
    )


@contextmanager
def mock_bridges(clock: FakeClock | None = None) -> Iterator[MockBridges]:
    """Context manager for a test: both bridges mocked; any other URL raises requests-mock's NoMockAddress."""
    with requests_mock_module().Mocker() as mocker:
        bridges = install_bridges(mocker, clock)
        try:
            yield bridges
        finally:
            bridges.close()
