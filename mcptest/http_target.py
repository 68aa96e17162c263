"""Where a bounded GET goes and what it sends: the URL, a proxy from the environment, TLS trust, the request.

Everything here that can go wrong raises ``Failed(status, reason)``, the verdict the exchange returns
as data (``mcptest.bounded_http``); foreign text in a reason is escaped and cut (``show_text``).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from mcptest import __version__
from mcptest.textsafe import show_text

#: A proxy is never used for these hosts (like requests' handling of loopback, but always).
_LOOPBACK_NAMES = ("localhost",)


class Failed(Exception):
    """A verdict reached before or during the exchange: ``status`` is ``unreachable`` or ``error``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Target:
    """A parsed URL, in the forms the request needs."""

    https: bool
    host: str  # as given to getaddrinfo (IDNA-encoded, no brackets)
    port: int
    host_header: str
    authority: str  # host:port, always with the port (a CONNECT target)
    path: str  # origin-form request target
    url: str  # absolute-form request target (through an HTTP proxy)
    authorization: str | None


def parse_target(url: str) -> Target:
    """The URL checked and prepared for the request; ``Failed`` (error) when it is not a usable http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Failed("error", f"invalid URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if parts.hostname and scheme:
            raise Failed("error", f"unsupported URL scheme in {url!r}")
        raise Failed("error", f"invalid URL {url!r}")
    if not parts.hostname:
        raise Failed("error", f"invalid URL {url!r}: no host")
    try:
        host = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Failed("error", f"invalid URL {url!r}: bad host name") from None
    if not host.isprintable() or any(c in host for c in " /\\"):
        raise Failed("error", f"invalid URL {url!r}: bad host name")
    default = 443 if scheme == "https" else 80
    port = port or default
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == default else f"{shown_host}:{port}"
    safe = "/%:@!$&'()*+,;=~-._"
    path = quote(parts.path or "/", safe=safe)
    if parts.query:
        path += "?" + quote(parts.query, safe=safe + "?")
    return Target(
        https=scheme == "https",
        host=host,
        port=port,
        host_header=host_header,
        authority=f"{shown_host}:{port}",
        path=path,
        url=f"{scheme}://{host_header}{path}",
        authorization=_basic(parts.username, parts.password),
    )


def proxy_for(target: Target) -> tuple[str, int, str | None] | None:
    """(host, port, Proxy-Authorization) from the *_proxy environment, or None; loopback never uses one."""
    if is_loopback(target.host):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https" if target.https else "http") or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(target.host):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    try:
        parts = urlsplit(proxy)
        port = parts.port or 80
    except ValueError:
        raise Failed("error", f"invalid proxy URL {show_text(proxy)!r} in the environment") from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise Failed("error", f"proxy {show_text(proxy)!r} from the environment is not an http:// proxy")
    return parts.hostname, port, _basic(parts.username, parts.password)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_CONTEXT: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """The system's trust store plus certifi's (what requests used), and the usual CA bundle variables."""
    global _CONTEXT
    if _CONTEXT is None:
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        context = ssl.create_default_context(cafile=bundle or None)
        if not bundle:
            try:
                import certifi

                context.load_verify_locations(certifi.where())
            except (ImportError, OSError, ssl.SSLError):
                pass
        _CONTEXT = context
    return _CONTEXT


def ssl_words(exc: ssl.SSLError) -> str:
    """What a TLS error says, escaped and short."""
    words = getattr(exc, "verify_message", None) or str(exc) or type(exc).__name__
    return show_text(str(words), 120)


def request_bytes(target: Target, request_target: str, extra: list[str]) -> bytes:
    """The GET request's head, ``extra`` header lines included."""
    lines = [
        f"GET {request_target} HTTP/1.1",
        f"Host: {target.host_header}",
        "Accept: application/json",
        f"User-Agent: mcptest/{__version__}",
        "Connection: close",
        *extra,
    ]
    if target.authorization:
        lines.append(f"Authorization: {target.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _basic(username: str | None, password: str | None) -> str | None:
    """The Basic credentials of a URL's user part (percent-decoded), or None without one."""
    if username is None:
        return None
    pair = f"{unquote(username)}:{unquote(password or '')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
