"""The ``/_sim/`` control API of a running simulator, as Python calls over HTTP (``BridgeControl``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests


class SimControlError(RuntimeError):
    """The control API of a simulator could not be used (not running, or not a simulator)."""



class BridgeControl:
    """The ``/_sim/`` control API of a simulator at ``url``, as Python calls.

    Every method raises SimControlError when the simulator cannot be reached or is not a simulator.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: never through a proxy from the environment

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.url}/_sim/{route}"
        try:
            response = self.session.request(method, url, json=body, params=params,
                                            timeout=(2.0, self.timeout))
        except requests.RequestException as exc:
            raise SimControlError(f"simulator at {self.url} is not reachable: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            what = "" if isinstance(data, dict) else " without JSON"
            raise SimControlError(f"{method} {url} answered HTTP {response.status_code}{what}: "
                                  "is it a mcptest simulator?")
        return data

    def state(self) -> dict[str, Any]:
        """``{bridge, connected, latency, faults, calls, messages, ...}``."""
        return self._call("GET", "state")

    def reset(self) -> None:
        """Forget data, faults, latency and call history; connected again."""
        self._call("POST", "reset")

    def set_connected(self, connected: bool) -> None:
        """WhatsApp (dis)connected: Go's /health says 503 degraded, Baileys' says connected false."""
        self._call("POST", "connected", {"connected": connected})

    def set_latency(self, seconds: float, paths: Iterable[str] | None = None) -> None:
        """Delay answers on matching paths (globs; all bridge routes when None); 0 clears every rule."""
        self._call("POST", "latency", {"seconds": seconds, "paths": None if paths is None else list(paths)})

    def fail(self, status: int = 500, paths: Iterable[str] | None = None, *, times: int | None = None,
             after: int = 0, body: Any = None) -> None:
        """Answer ``status`` on matching paths for ``times`` calls (None: always), after ``after`` calls."""
        self._call("POST", "fault", {"status": status, "paths": None if paths is None else list(paths),
                                     "times": times, "after": after, "body": body})

    def drop(self, paths: Iterable[str] | None = None, *, times: int | None = None, after: int = 0) -> None:
        """Close the connection without an answer on matching paths."""
        self._call("POST", "fault", {"drop": True, "paths": None if paths is None else list(paths),
                                     "times": times, "after": after})

    def clear_faults(self) -> None:
        """Remove every injected fault and latency rule."""
        self._call("POST", "faults/clear")

    def seed(self, data: dict[str, Any] | None = None, **parts: Any) -> None:
        """Add data: ``chats``, ``communities``, ``groups``, ``messages``, ``history`` (Baileys)."""
        self._call("POST", "seed", {**(data or {}), **parts})

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """The call history since the last reset: ``[{method, path, status, time}]``, optionally by glob."""
        return list(self._call("GET", "calls", params={"path": path} if path else None)["calls"])

    def statuses(self, path: str) -> list[int]:
        """The HTTP statuses answered on ``path`` (a glob) since the last reset, in order (0: dropped)."""
        return [int(c["status"]) for c in self.calls(path)]

    def stored(self, chat_jid: str | None = None) -> list[dict[str, Any]]:
        """Raw rows of the bridge's message table, oldest first (Go: with is_read; Baileys: temp store)."""
        return list(self._call("GET", "store", params={"chat_jid": chat_jid} if chat_jid else None)["rows"])

    def served(self) -> int:
        """Requests the process received on bridge routes other than /health since it started."""
        return int(self._call("GET", "server")["served"])

    def close(self) -> None:
        self.session.close()

