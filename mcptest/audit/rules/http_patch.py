"""``patched-http``: a test of an integration or e2e suite that fakes the HTTP layer.

The suite's type is its ``type`` in mcptest.yaml. Faking means: a mocking library's decorator, context
or call (``responses``, ``requests_mock``, ``httpretty``, ``respx``, ``aioresponses``), one of their pytest
fixtures (``requests_mock``, ``httpx_mock``, ``respx_mock``), or ``mock.patch``/``patch.object``/
``mocker.patch``/``monkeypatch.setattr`` aimed at ``requests``, ``urllib3``, ``httpx``, ``aiohttp``,
``http.client`` or ``urllib.request``; in the test, on its ``Test`` classes, or in a fixture it gets.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mcptest.audit.astutil import FuncNode
from mcptest.audit.context import Func, Module
from mcptest.audit.rule import Rule

_LIBRARIES = ("responses", "requests_mock", "httpretty", "respx", "aioresponses")
_FIXTURES = frozenset({"requests_mock", "httpx_mock", "respx_mock"})
_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
#: The HTTP client modules and their transport: what a test replaces to fake the network. Other
#: attributes (``requests.utils.proxy_bypass``) are that library's own code, patched in its own tests.
_HTTP: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("requests",), _VERBS | {"Session", "sessions", "api", "adapters", "HTTPAdapter"}),
    (("urllib3",), frozenset({"PoolManager", "poolmanager", "ProxyManager", "connectionpool", "HTTPConnectionPool",
                              "HTTPSConnectionPool", "connection", "request", "urlopen"})),
    (("httpx",), _VERBS | {"Client", "AsyncClient", "HTTPTransport", "AsyncHTTPTransport"}),
    (("aiohttp",), frozenset({"ClientSession", "client", "request", "ClientRequest", "TCPConnector"})),
    (("http", "client"), frozenset({"HTTPConnection", "HTTPSConnection"})),
    (("urllib", "request"), frozenset({"urlopen", "OpenerDirector", "build_opener", "Request"})),
)
_PATCH_BY_NAME = ("unittest.mock.patch", "mock.patch", "mocker.patch", "monkeypatch.setattr", "monkeypatch.delattr")
_PATCH_OBJECT = ("unittest.mock.patch.object", "mock.patch.object", "mocker.patch.object")


def _http(dotted: str | None) -> bool:
    """Whether a dotted name is an HTTP client's transport (``app.client.requests.get``, ``urllib3.PoolManager``)
    or the client module itself (``app.client.requests``)."""
    if not dotted:
        return False
    parts = tuple(dotted.split("."))
    for mod, transport in _HTTP:
        for i in range(len(parts) - len(mod) + 1):
            if parts[i : i + len(mod)] == mod:
                rest = parts[i + len(mod) :]
                if not rest or rest[0] in transport:
                    return True
    return False


def _site(module: Module, node: ast.expr) -> str | None:
    """What fakes HTTP at ``node`` (a call or a decorator), e.g. ``unittest.mock.patch('requests.get')``."""
    call = node if isinstance(node, ast.Call) else None
    qual = module.qual(call.func if call is not None else node)
    if qual is None:
        return None
    if qual.split(".")[0] in _LIBRARIES:
        return qual
    if call is None or not call.args:
        return None
    first, target = call.args[0], None
    if qual in _PATCH_BY_NAME and isinstance(first, ast.Constant) and isinstance(first.value, str):
        target = first.value  # patch("requests.get"), monkeypatch.setattr("requests.get", fake)
    elif (qual in _PATCH_OBJECT or qual in _PATCH_BY_NAME[3:]) and len(call.args) >= 2:
        owner, attr = module.qual(first), call.args[1]  # patch.object(requests, "get"), setattr(requests, ...)
        if owner is not None and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
            target = f"{owner}.{attr.value}"
    return f"{qual}({target!r})" if _http(target) else None


def _sites(module: Module, node: FuncNode | ast.ClassDef) -> Iterator[tuple[int, str]]:
    for deco in node.decorator_list:
        found = _site(module, deco)
        if found:
            yield deco.lineno, f"@{found}"
    if isinstance(node, ast.ClassDef):
        return
    for stmt in node.body:
        for sub in ast.walk(stmt):
            found = _site(module, sub) if isinstance(sub, ast.Call) else None
            if found and isinstance(sub, ast.Call):
                yield sub.lineno, found


def _fakes(module: Module, test: Func) -> str | None:
    """How the test fakes HTTP, said in a few words, or None."""
    for line, what in _sites(module, test.node):
        return f"{what} on line {line}"
    for cls in reversed(test.classes):
        for line, what in _sites(module, cls):
            return f"{what} on its class (line {line})"
    fixtures = module.closure.get(test.nodeid, [])
    for fixture in sorted(fixtures, key=lambda f: f.name):
        for line, what in _sites(module, fixture.node):
            return f"{what} in fixture '{fixture.name}' ({fixture.src.rel}:{line})"
    asked = module.requested(test) | {p for f in fixtures for p in f.params}
    faking = sorted(asked & _FIXTURES)
    return f"the {faking[0]} fixture" if faking else None


def check(module: Module) -> None:
    suites = module.settings.suites_of("integration", "e2e")
    if not suites:
        return
    kinds = " and ".join(sorted({module.settings.suites[s] for s in suites}))
    for test in module.tests:
        how = _fakes(module, test)
        if how is not None:
            reason = (f"fakes the HTTP layer ({how}) in {kinds} suite {', '.join(suites)}: "
                      "it never talks to a server, so it is a unit test under another name")
            module.add(RULE.id, test.node.lineno, test.nodeid, reason, module.src.def_lines(test.node))


RULE = Rule(
    "patched-http",
    "integration or e2e test fakes the HTTP layer",
    "a test that patches requests or urllib3 proves nothing about the server it claims to integrate with",
    "run it against a real server (a loopback one, a simulator), or move it to a unit suite",
    check=check,
)
