"""The bridge probe against hostile servers on 127.0.0.1: one wall-clock deadline, foreign bytes kept harmless.

Each server is a raw socket (tests/bridge_servers.py: RawServer) that sends exactly the bytes of a case:
slow, endless, truncated, binary, huge, deep. Every probe must come back with a status of STATUSES
within its deadline (connect + read timeout) plus a margin, with a short reason free of control characters.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from bridge_servers import HANG, RESET, RawServer, Step, drip, free_port
from fault_table import FAULTS
from projects import latest, make_project, mcptest

from mcptest import bridges
from mcptest.config_model import BridgeConfig
from mcptest.model import BridgeProbe

MARGIN = 2.0  # seconds past the deadline that still count as "on time": generous, this is about hangs

OK_BODY = b'{"status": "ok", "connected": true}'


def answer(body: bytes = OK_BODY, status: bytes = b"200 OK", headers: bytes = b"") -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + headers
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def bridge(url: str, connect_timeout: float = 0.2, read_timeout: float = 1.5, **kwargs: object) -> BridgeConfig:
    return BridgeConfig(
        name="go",
        url=url,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        **kwargs,  # type: ignore[arg-type]
    )


def timed_probe(cfg: BridgeConfig) -> tuple[BridgeProbe, float]:
    started = time.monotonic()
    result = bridges.probe(cfg)
    return result, time.monotonic() - started


def assert_clean(reason: str) -> None:
    """A reason fit for a terminal and a report: short, and no raw control characters from the server."""
    assert len(reason) <= bridges.MAX_REASON_CHARS, reason
    assert reason.isprintable(), reason


def assert_on_time(cfg: BridgeConfig, elapsed: float) -> None:
    deadline = cfg.connect_timeout + cfg.read_timeout
    assert elapsed < deadline + MARGIN, f"verdict after {elapsed:.2f} s, deadline {deadline:g} s"


# --------------------------------------------------------------------------- endless and slow answers


def endless(*steps: Step) -> Iterator[Step]:
    while True:
        yield from steps


def then(*parts: Step | Iterable[Step]) -> Iterator[Step]:
    """The steps of ``parts`` in order; an iterable part (an endless one too) is played lazily."""
    for part in parts:
        if isinstance(part, bytes | str | float | int):
            yield part
        else:
            yield from part


def chunked_head() -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


Steps = Callable[[], Iterable[Step]]  # a fresh answer for each connection

SLOW: dict[str, tuple[Steps, str]] = {
    # case: (the answer, what the reason must say was incomplete)
    "bridge-slow-status-line": (lambda: drip(answer(), 1.0), "status line incomplete"),
    "bridge-slow-headers": (
        lambda: then(b"HTTP/1.1 200 OK\r\n", drip(b"X-Padding: " + b"x" * 100, 1.0)),
        "headers incomplete",
    ),
    "bridge-endless-100-continue": (lambda: endless(b"HTTP/1.1 100 Continue\r\n\r\n", 0.2), "headers incomplete"),
    "bridge-slow-body": (
        lambda: then(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n", drip(b" " * 200, 0.5)),
        "body incomplete",
    ),
    "bridge-slow-chunked-body": (lambda: then(chunked_head(), endless(b"1\r\n \r\n", 0.3)), "body incomplete"),
}


@pytest.mark.parametrize("case", sorted(SLOW))
def test_hostile_slow_answer_is_unreachable_at_the_deadline(case: str) -> None:
    steps, incomplete = SLOW[case]
    assert FAULTS[case].exit == 3
    with RawServer(lambda _path: steps()) as server:
        cfg = bridge(server.url)
        result, elapsed = timed_probe(cfg)
    assert result.status == "unreachable", result.reason
    assert result.reason.startswith("no complete answer within 1.7 s (connect + read timeout): "), result.reason
    assert incomplete in result.reason
    assert_clean(result.reason)
    assert_on_time(cfg, elapsed)


def test_endless_103_answers_are_counted_in_the_reason() -> None:
    with RawServer(endless(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n", 0.2)) as server:
        result, elapsed = timed_probe(bridge(server.url, read_timeout=0.8))
    assert result.status == "unreachable"
    assert re.search(r"headers incomplete after [1-9]\d* interim 1xx answer\(s\)", result.reason), result.reason
    assert_on_time(bridge(server.url, read_timeout=0.8), elapsed)


def test_a_stall_mid_answer_is_cut_at_the_read_timeout() -> None:
    with RawServer([b"HTTP/1.1 200 OK\r\nContent-Le", HANG]) as server:
        result, elapsed = timed_probe(bridge(server.url, read_timeout=0.4))
    assert result.status == "unreachable"
    assert result.reason == (
        "no data for 0.4 s (read timeout): headers incomplete (27 bytes so far: b'HTTP/1.1 200 OK\\r\\nContent-Le')"
    )
    assert elapsed < 0.6 + MARGIN


def test_an_endless_fast_interim_stream_hits_the_answer_cap() -> None:
    with RawServer(endless(b"HTTP/1.1 100 Continue\r\n\r\n" * 200)) as server:
        result, elapsed = timed_probe(bridge(server.url))
    assert result.status == "error"
    assert result.reason == "answer larger than 1024 KiB in all (headers and body)"
    assert_on_time(bridge(server.url), elapsed)


# --------------------------------------------------------------------------- answers that are not HTTP or broken


BROKEN: dict[str, tuple[Steps, str, str]] = {
    # case: (the answer, status, reason: exact, or a regex when it starts with ^)
    "bridge-ssh-banner": (
        lambda: [b"SSH-2.0-OpenSSH_9.6\r\n", HANG],
        "error",
        "not an HTTP answer: b'SSH-2.0-OpenSSH_9.6\\r\\n'",
    ),
    "bridge-ssh-banner-close": (
        lambda: [b"SSH-2.0-OpenSSH_9.6\r\n"],
        "error",
        "not an HTTP answer: b'SSH-2.0-OpenSSH_9.6\\r\\n'",
    ),
    "bridge-garbage-bytes": (
        lambda: [bytes(range(256)) * 4],
        "error",
        r"^not an HTTP answer: b'\\x00\\x01\\x02.*'\.\.\.$",
    ),
    "bridge-http2-status": (
        lambda: [b"HTTP/2.0 200 OK\r\n\r\n"],
        "error",
        "not an HTTP answer: b'HTTP/2.0 200 OK\\r\\n\\r\\n'",
    ),
    "bridge-reset-after-status-line": (
        lambda: [b"HTTP/1.1 200 OK\r\n", 0.1, RESET],
        "unreachable",
        "connection reset: headers incomplete (17 bytes so far: b'HTTP/1.1 200 OK\\r\\n')",
    ),
    "bridge-reset-at-once": (lambda: [RESET], "unreachable", "connection reset"),
    "bridge-closed-at-once": (lambda: [], "unreachable", "connection closed without an answer"),
    "bridge-truncated-headers": (lambda: [b"HTTP/1.1 200 OK\r\nContent-Ty"], "error", "HTTP 200, body is empty"),
    "bridge-truncated-json-body": (
        lambda: [answer(b'{"status": "ok", "connected": true}')[:-12]],
        "error",
        "HTTP 200, body cut short (23 of 35 bytes)",
    ),
    "bridge-truncated-chunked-body": (
        lambda: [chunked_head(), b'20\r\n{"status": "ok"}'],
        "error",
        "HTTP 200, chunked body cut short or malformed",
    ),
    "bridge-bad-chunk-size": (
        lambda: [chunked_head(), b"zz\r\n{}\r\n0\r\n\r\n"],
        "error",
        "HTTP 200, chunked body cut short or malformed",
    ),
    "bridge-negative-chunk-size": (
        lambda: then(chunked_head(), b"-1\r\n", endless(b"x" * 65536)),
        "error",
        r"^HTTP 200, body larger than 64 KiB$|^answer larger than 1024 KiB in all",
    ),
    "bridge-invalid-utf8": (lambda: [answer(b'{"status": "\xff\xfe ok"}')], "error", "HTTP 200, body is not UTF-8"),
    "bridge-deep-json": (
        lambda: [answer(b"[" * 30_000)],
        "error",
        "HTTP 200, body nested too deep (more than 64 levels)",
    ),
    "bridge-deep-json-chunked": (
        lambda: [chunked_head(), b"7530\r\n" + b"{" * 30_000 + b"\r\n0\r\n\r\n"],
        "error",
        "HTTP 200, body nested too deep (more than 64 levels)",
    ),
    "bridge-endless-chunked-body": (
        lambda: then(chunked_head(), endless(b"400\r\n" + b" " * 1024 + b"\r\n")),
        "error",
        "HTTP 200, body larger than 64 KiB",
    ),
    "bridge-endless-close-delimited-body": (
        lambda: then(b"HTTP/1.0 200 OK\r\n\r\n", endless(b" " * 4096)),
        "error",
        "HTTP 200, body larger than 64 KiB",
    ),
    "bridge-huge-header-line": (
        lambda: [b"HTTP/1.1 200 OK\r\nX-Huge: " + b"x" * 70_000 + b"\r\n\r\n"],
        "error",
        "malformed HTTP answer: got more than 65536 bytes when reading header line",
    ),
    "bridge-huge-status-line": (
        lambda: [b"HTTP/1.1 200 " + b"O" * 70_000 + b"\r\n\r\n"],
        "error",
        "malformed HTTP answer: got more than 65536 bytes when reading status line",
    ),
    "bridge-thousands-of-headers": (
        lambda: [b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n"],
        "error",
        "malformed HTTP answer: got more than 100 headers",
    ),
    "bridge-switching-protocols": (
        lambda: [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", HANG],
        "error",
        "HTTP 101, the server switched protocols",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_hostile_broken_answer_gets_a_verdict(case: str) -> None:
    steps, status, reason = BROKEN[case]
    assert FAULTS[case].exit == 3  # not accepted: a suite that requires this bridge is refused
    with RawServer(lambda _path: steps()) as server:
        cfg = bridge(server.url)
        result, elapsed = timed_probe(cfg)
    assert result.status == status, result.reason
    if reason.startswith("^"):
        assert re.search(reason, result.reason), result.reason
    else:
        assert result.reason == reason
    assert_clean(result.reason)
    assert_on_time(cfg, elapsed)


def test_foreign_text_in_reasons_is_escaped_and_short() -> None:
    body = json.dumps({"status": "\x1b[2J\x1b[31mpwned\u202e" + "y" * 500, "connected": True}).encode()
    with RawServer([answer(body, status=b"200 \x1b[5mOK")]) as server:
        result, _ = timed_probe(bridge(server.url))
    assert result.status == "error"
    assert result.reason.startswith("HTTP 200, status \\x1b[2J\\x1b[31mpwned\\u202eyyy")
    assert_clean(result.reason)


def test_redirect_location_is_escaped() -> None:
    location = b"http://evil.example/\x1b]8;;x\x07" + b"a" * 300
    with RawServer([b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"]) as server:
        result, _ = timed_probe(bridge(server.url))
    assert (result.status, result.http_status) == ("error", 302)
    assert result.reason.startswith("HTTP 302, redirect to http://evil.example/\\x1b]8;;x\\x07aaa")
    assert_clean(result.reason)


def test_a_valid_answer_in_many_small_pieces_is_ok() -> None:
    steps: list[Step] = []
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + answer()
    for start in range(0, len(data), 7):
        steps += [data[start : start + 7], 0.005]
    with RawServer(steps) as server:
        result, _ = timed_probe(bridge(server.url))
        assert server.requests[0].startswith(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:")
    assert (result.status, result.reason) == ("ok", "HTTP 200, status ok, connected true")


def test_https_to_a_plain_http_server_is_a_tls_error() -> None:
    with RawServer([answer()], read_request=False) as server:  # plain HTTP bytes to the client hello
        result, elapsed = timed_probe(bridge(server.url.replace("http://", "https://")))
    assert result.status == "error"
    assert result.reason.startswith("TLS error: "), result.reason
    assert_clean(result.reason)
    assert_on_time(bridge(server.url), elapsed)


# --------------------------------------------------------------------------- JSON depth


def test_json_nesting_is_bounded_but_strings_do_not_count() -> None:
    deep_ok = b'{"status": "ok", "x": ' + b"[" * 63 + b"]" * 63 + b"}"
    assert bridges.load_json(deep_ok)[1] is None
    too_deep = b'{"status": "ok", "x": ' + b"[" * 64 + b"]" * 64 + b"}"
    assert bridges.load_json(too_deep) == (None, "body nested too deep (more than 64 levels)")
    brackets_in_strings = json.dumps({"status": "ok", "x": "[" * 5000 + '\\"{' * 100}).encode()
    data, problem = bridges.load_json(brackets_in_strings)
    assert problem is None and data["status"] == "ok"
    escaped_quote = b'{"status": "ok\\\\", "x": ' + b"[" * 100 + b"]" * 100 + b"}"  # the string ends at \\"
    assert bridges.load_json(escaped_quote)[1] == "body nested too deep (more than 64 levels)"


def test_json_depth_check_is_linear_on_hostile_quoting() -> None:
    started = time.monotonic()
    for body in (b'"\\"' * 20_000, b'["' + b"\\\\" * 30_000, b"[" * 60_000):
        _, problem = bridges.load_json(body)
        assert problem is not None
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- probe_all, wait_for, sim counter


def test_probe_all_of_slow_bridges_takes_one_deadline_not_their_sum() -> None:
    slow = [b"HTTP/1.1 200 OK\r\n", *drip(b"X-Slow: " + b"x" * 50, 0.4)]
    with RawServer(slow) as a, RawServer(slow) as b, RawServer(slow) as c:
        cfgs = [bridge(s.url, read_timeout=1.0) for s in (a, b, c)]
        started = time.monotonic()
        results = bridges.probe_all(cfgs)
        elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["unreachable"] * 3
    assert elapsed < 1.2 + 1.0, f"three 1.2 s deadlines took {elapsed:.2f} s"


def test_wait_for_a_slow_bridge_stops_by_its_own_deadline() -> None:
    with RawServer([b"HTTP/1.1 200 OK\r\n", *drip(b"X-Slow: " + b"x" * 50, 0.2)]) as server:
        cfg = bridge(server.url, read_timeout=0.5)
        started = time.monotonic()
        results = bridges.wait_for([cfg], 1.0, interval=0.1)
        elapsed = time.monotonic() - started
    assert results[0].status == "unreachable"
    # polls start until `wait` has passed; the last one ends by its own deadline (0.7 s) and grace
    assert elapsed < 1.0 + 0.7 + MARGIN


def test_sim_call_count_of_an_endless_or_slow_server_is_unknown() -> None:
    assert FAULTS["bridge-sim-counter-hostile"].exit == 0
    scripts: list[Iterator[Step]] = [
        then(b"HTTP/1.0 200 OK\r\n\r\n", b'{"served": 1', endless(b" " * 8192)),  # endless body
        then(b"HTTP/1.1 200 OK\r\n", drip(b"X-Slow: " + b"x" * 50, 0.3)),  # slow headers
        then(answer(b'{"served": ' + b"[" * 30_000)),  # deep
        then(b"SSH-2.0-OpenSSH_9.6\r\n", HANG),
    ]
    for script in scripts:
        with RawServer(lambda _path, script=script: script) as server:
            cfg = bridge(server.url, read_timeout=0.6)
            started = time.monotonic()
            assert bridges.sim_call_count(cfg) is None
            assert_on_time(cfg, time.monotonic() - started)
            assert server.paths == ["/_sim/server"]


def test_sim_call_count_reads_a_valid_answer_served_raw() -> None:
    with RawServer([answer(b'{"bridge": "go", "served": 7}')]) as server:
        assert bridges.sim_call_count(bridge(server.url)) == 7


# --------------------------------------------------------------------------- proxies from the environment


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
        monkeypatch.delenv(key.upper(), raising=False)
    return monkeypatch


def test_a_remote_bridge_goes_through_the_http_proxy_of_the_environment(no_proxy_env: pytest.MonkeyPatch) -> None:
    with RawServer([answer()]) as proxy:
        no_proxy_env.setenv("HTTP_PROXY", f"http://user:secret@127.0.0.1:{proxy.port}")
        result, _ = timed_probe(bridge("http://bridge.invalid:8080"))
        request = proxy.requests[0]
    assert result.status == "ok", result.reason
    assert request.startswith(b"GET http://bridge.invalid:8080/health HTTP/1.1\r\nHost: bridge.invalid:8080\r\n")
    assert b"Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n" in request


def test_an_https_bridge_through_a_proxy_that_refuses_the_tunnel(no_proxy_env: pytest.MonkeyPatch) -> None:
    with RawServer([b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"]) as proxy:
        no_proxy_env.setenv("HTTPS_PROXY", f"127.0.0.1:{proxy.port}")
        result, _ = timed_probe(bridge("https://bridge.invalid"))
        request = proxy.requests[0]
    assert (result.status, result.reason) == ("error", f"proxy 127.0.0.1:{proxy.port} refused the tunnel: HTTP 403")
    assert request.startswith(b"CONNECT bridge.invalid:443 HTTP/1.1\r\n")


def test_loopback_and_no_proxy_hosts_bypass_the_proxy(no_proxy_env: pytest.MonkeyPatch) -> None:
    port = free_port()  # a proxy that is not there: using it would say so
    no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    no_proxy_env.setenv("NO_PROXY", "bridge.invalid")
    with RawServer([answer()]) as server:
        assert bridges.probe(bridge(server.url)).status == "ok"
    result = bridges.probe(bridge("http://bridge.invalid:8080"))
    assert result.status == "unreachable"
    assert "proxy" not in result.reason  # the DNS lookup of bridge.invalid failed (or, on a slow resolver, timed out)


def test_a_proxy_that_is_down_is_named(no_proxy_env: pytest.MonkeyPatch) -> None:
    port = free_port()
    no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    result = bridges.probe(bridge("http://bridge.invalid:8080"))
    assert (result.status, result.reason) == ("unreachable", f"connection refused (proxy 127.0.0.1:{port})")


# --------------------------------------------------------------------------- the CLI, end to end


def slow_headers() -> Iterator[Step]:
    yield b"HTTP/1.1 200 OK\r\n"
    yield from endless(b"X", 0.3)


def hostile_config(url: str) -> str:
    return (
        "source: [pkg]\n"
        "suites:\n"
        "  integration: {paths: [tests], requires: [go]}\n"
        "bridges:\n"
        "  go:\n"
        f"    url: {url}\n"
        "    connect_timeout: 0.5\n"
        "    read_timeout: 1\n"
    )


def test_cli_bridges_check_of_a_slow_headers_bridge_exits_3_in_time(tmp_path: Path) -> None:
    with RawServer(lambda _path: slow_headers()) as server:
        make_project(tmp_path, hostile_config(server.url))
        started = time.monotonic()
        result = mcptest(tmp_path, "bridges", "check", "--json", timeout=60)
        elapsed = time.monotonic() - started
    assert result.code == FAULTS["bridge-slow-headers-cli"].exit == 3, result.output
    (probe,) = json.loads(result.stdout)
    assert probe["status"] == "unreachable"
    assert probe["reason"].startswith("no complete answer within 1.5 s (connect + read timeout): headers incomplete")
    assert elapsed < 1.5 + 10, f"took {elapsed:.1f} s"  # the deadline, plus python start-up on a busy machine


def test_cli_run_of_a_suite_requiring_a_slow_headers_bridge_exits_3(tmp_path: Path) -> None:
    with RawServer(lambda _path: slow_headers()) as server:
        make_project(tmp_path, hostile_config(server.url))
        started = time.monotonic()
        result = mcptest(tmp_path, "run", "integration", timeout=90)
        elapsed = time.monotonic() - started
    assert result.code == FAULTS["bridge-slow-headers-run"].exit == 3, result.output
    assert "headers incomplete" in result.stdout
    record = latest(tmp_path)
    assert record["suites"][0]["status"] == "not-run"
    assert [(b["name"], b["status"]) for b in record["bridges"]] == [("go", "unreachable")]
    assert elapsed < 1.5 + 20, f"took {elapsed:.1f} s"


# --------------------------------------------------------------------------- fuzz


FUZZ_CASES = 300
FUZZ_CONNECT, FUZZ_READ = 0.2, 0.3
FUZZ_DEADLINE = FUZZ_CONNECT + FUZZ_READ
FUZZ_BATCH = 30  # probed at once, as a preflight probes every bridge of a run at once


def _valid(rng: random.Random) -> bytes:
    body = json.dumps({"status": "ok", "connected": True, "pad": "x" * rng.randrange(0, 3000)}).encode()
    headers = [b"Content-Type: application/json"]
    headers += [b"X-Extra-%d: %s" % (i, b"v" * rng.randrange(0, 200)) for i in range(rng.randrange(0, 30))]
    framing = rng.choice(["length", "chunked", "close"])
    version = b"HTTP/1.0" if framing == "close" and rng.random() < 0.5 else b"HTTP/1.1"
    if framing == "length":
        headers.append(b"content-length: %d" % len(body))
        payload = body
    elif framing == "chunked":
        headers.append(b"Transfer-Encoding: chunked")
        payload, rest = b"", body
        while rest:
            size = rng.randrange(1, 600)
            payload += b"%x\r\n%s\r\n" % (len(rest[:size]), rest[:size])
            rest = rest[size:]
        payload += b"0\r\n\r\n"
    else:
        payload = body
    interim = rng.choice([b"", b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"])
    return interim + version + b" 200 OK\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + payload


def _pieces(rng: random.Random, data: bytes, pause: float, count: int) -> list[Step]:
    cuts = sorted(rng.sample(range(1, max(2, len(data))), min(count, max(1, len(data) - 1))))
    steps: list[Step] = []
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        steps += [data[start:end], pause]
    return steps


def _endless(rng: random.Random) -> Iterator[Step]:
    unit = rng.choice([b"HTTP/1.1 100 Continue\r\n\r\n", b"1\r\nx\r\n", b"X-A: b\r\n", bytes([rng.randrange(256)])])
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" if unit == b"1\r\nx\r\n" else b""
    pause = rng.choice([0.0, 0.01, 0.05])
    yield head or unit
    while True:
        yield unit * rng.randrange(1, 50)
        if pause:
            yield pause


def fuzz_case(rng: random.Random) -> tuple[list[Step] | Iterator[Step], bool]:
    """One generated answer and whether it is a valid ok answer."""
    kind = rng.choice(["valid", "valid", "truncated", "binary", "mutated", "huge", "deep", "slow", "endless"])
    valid = _valid(rng)
    end: list[Step] = [rng.choice([HANG, RESET, b""])]
    if kind == "valid":
        return _pieces(rng, valid, rng.choice([0.0, 0.002]), rng.randrange(1, 6)), True
    if kind == "truncated":
        return [valid[: rng.randrange(0, len(valid))], *end], False
    if kind == "binary":
        return [rng.randbytes(rng.randrange(1, 5000)), *end], False
    if kind == "mutated":
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return [bytes(data), *end], False
    if kind == "huge":
        choice = rng.randrange(3)
        if choice == 0:
            return [b"HTTP/1.1 200 OK\r\nX-Big: " + b"y" * rng.randrange(60_000, 120_000) + b"\r\n\r\n", *end], False
        if choice == 1:
            many = b"".join(b"H%d: v\r\n" % i for i in range(rng.randrange(90, 3000)))
            return [b"HTTP/1.1 200 OK\r\n" + many + b"\r\n" + OK_BODY, *end], False
        return [answer(b'{"status": "ok", "p": "' + b"z" * rng.randrange(60_000, 200_000) + b'"}'), *end], False
    if kind == "deep":
        depth = rng.randrange(30, 50_000)
        return [answer(b'{"status": "ok", "d": ' + rng.choice([b"[", b'{"a":']) * depth + b"}"), *end], False
    if kind == "slow":
        return _pieces(rng, valid, rng.choice([0.1, 0.2, 0.35]), rng.randrange(3, 12)), False
    return _endless(rng), False


def test_fuzz_hostile_answers_always_get_a_verdict_in_time() -> None:
    rng = random.Random(20240611)
    cases = [fuzz_case(rng) for _ in range(FUZZ_CASES)]
    by_path = {f"/case/{i}": steps for i, (steps, _) in enumerate(cases)}
    seen: dict[str, int] = {}
    started = time.monotonic()
    with RawServer(lambda path: by_path.get(path, [])) as server:
        cfgs = [
            BridgeConfig(
                name=f"case{i}",
                url=server.url,
                health=f"/case/{i}",
                connect_timeout=FUZZ_CONNECT,
                read_timeout=FUZZ_READ,
            )
            for i in range(FUZZ_CASES)
        ]
        for batch in range(0, FUZZ_CASES, FUZZ_BATCH):
            batch_started = time.monotonic()
            results = bridges.probe_all(cfgs[batch : batch + FUZZ_BATCH])
            batch_elapsed = time.monotonic() - batch_started
            last = batch + FUZZ_BATCH - 1
            assert batch_elapsed < FUZZ_DEADLINE + MARGIN, f"cases {batch}..{last} took {batch_elapsed:.2f} s"
            for i, result in enumerate(results, start=batch):
                assert result.status in bridges.STATUSES, (i, result)
                assert not result.reason.startswith("probe failed"), (i, result.reason)
                assert_clean(result.reason)
                assert result.response_time_ms is not None
                assert result.response_time_ms < (FUZZ_DEADLINE + MARGIN) * 1000, (i, result)
                if cases[i][1]:
                    assert (result.status, result.reason) == ("ok", "HTTP 200, status ok, connected true"), i
                seen[result.status] = seen.get(result.status, 0) + 1
    assert time.monotonic() - started < 20
    assert set(seen) == {"ok", "error", "unreachable"}, seen  # the generator covers every kind of verdict


def test_a_proxy_that_never_answers_the_tunnel_request_is_named(no_proxy_env: pytest.MonkeyPatch) -> None:
    with RawServer([HANG]) as proxy:
        no_proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        result, elapsed = timed_probe(bridge("https://bridge.invalid", read_timeout=0.5))
    assert (result.status, result.reason) == (
        "unreachable",
        f"proxy 127.0.0.1:{proxy.port}: no answer within 0.5 s (read timeout)",
    )
    assert_on_time(bridge("https://bridge.invalid", read_timeout=0.5), elapsed)


def test_sim_call_counts_are_asked_concurrently() -> None:
    slow = [b"HTTP/1.1 200 OK\r\n", *drip(b"X-Slow: " + b"x" * 50, 0.3)]
    with RawServer(slow) as a, RawServer(slow) as b, RawServer([answer(b'{"served": 3}')]) as c:
        cfgs = [
            BridgeConfig(name=n, url=s.url, connect_timeout=0.2, read_timeout=0.8)
            for n, s in zip("abc", (a, b, c), strict=True)
        ]
        started = time.monotonic()
        counts = bridges.sim_call_counts(cfgs)
        elapsed = time.monotonic() - started
    assert counts == {"a": None, "b": None, "c": 3}
    assert elapsed < 1.0 + 1.0, f"two 1 s deadlines took {elapsed:.2f} s"
