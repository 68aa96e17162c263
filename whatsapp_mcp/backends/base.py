"""What both bridge clients share: backend names, typed errors and one JSON request helper."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import requests

GO_URL = "http://127.0.0.1:8080"
BAILEYS_URL = "http://127.0.0.1:8081"


class Backend(StrEnum):
    GO = "go"
    BAILEYS = "baileys"


class InvalidBackendError(ValueError):
    """A backend name that is neither ``go`` nor ``baileys``."""


def parse_backend(name: Backend | str) -> Backend:
    """The Backend for ``name``; raises InvalidBackendError naming the accepted values."""
    try:
        return Backend(str(name).lower())
    except ValueError:
        choices = ", ".join(b.value for b in Backend)
        raise InvalidBackendError(f"unknown backend {name!r}; expected one of: {choices}") from None


class BridgeError(Exception):
    """A bridge answered with an error: HTTP status, the bridge's ``error_code`` and message."""

    def __init__(
        self, backend: Backend, message: str, *, status: int | None = None, error_code: str | None = None
    ) -> None:
        self.backend = backend
        self.status = status
        self.error_code = error_code
        self.message = message
        parts = [f"{backend.value} bridge"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if error_code:
            parts.append(error_code)
        super().__init__(f"{' '.join(parts)}: {message}")


class BridgeUnavailable(BridgeError):
    """The bridge could not be reached: refused, reset, or no answer within the timeout."""

    def __init__(self, backend: Backend, message: str, *, timeout: bool = False) -> None:
        super().__init__(backend, message)
        self.timeout = timeout


class BridgeClient:
    """A JSON-over-HTTP client for one bridge; every failure becomes a BridgeError."""

    backend: Backend

    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        connect_timeout: float = 0.5,
        read_timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
        ok_statuses: tuple[int, ...] = (200,),
    ) -> dict[str, Any]:
        """The JSON object the bridge answered; raises BridgeError unless the status is in ``ok_statuses``."""
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                timeout=(self.connect_timeout, timeout if timeout is not None else self.read_timeout),
            )
        except requests.Timeout as exc:
            raise BridgeUnavailable(self.backend, f"timeout: {exc}", timeout=True) from exc
        except requests.RequestException as exc:
            raise BridgeUnavailable(self.backend, f"unreachable: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BridgeError(
                self.backend, f"{method} {path} answered no JSON object", status=response.status_code
            )
        if response.status_code not in ok_statuses:
            message = str(body.get("message") or body.get("error") or response.reason or "error")
            raise BridgeError(
                self.backend, message, status=response.status_code, error_code=body.get("error_code")
            )
        return body

    def require_success(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        """``body`` when it says ``success``; a 200 with ``success: false`` is still an error."""
        if body.get("success") is False:
            message = str(body.get("message") or body.get("error") or f"{what} failed")
            raise BridgeError(self.backend, message, status=200, error_code=body.get("error_code"))
        return body
