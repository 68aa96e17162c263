"""Bridge preflight: probe health endpoints, classify them, wait for them, start and stop them."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from mcptest.bounded_http import Fetched, Pending, show_text
from mcptest.config_model import BridgeConfig, Config
from mcptest.errors import UsageError
from mcptest.model import BridgeProbe

#: A health answer larger than this is not a health answer (also when chunked or without a length).
MAX_BODY_BYTES = 64 * 1024

#: JSON nested deeper than this is refused before it is parsed (json would recurse until it crashes).
MAX_JSON_DEPTH = 64

#: A probe's reason is cut to this many characters: much of it can come from the server.
MAX_REASON_CHARS = 200

#: The states a probe can end in, from best to worst.
STATUSES = ("ok", "degraded", "error", "unreachable")

#: Body keys that say whether the bridge's own upstream (WhatsApp) is connected.
CONNECTED_KEYS = ("connected", "whatsapp_connected")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


# --------------------------------------------------------------------------- probing


def probe(bridge: BridgeConfig) -> BridgeProbe:
    """GET the bridge's health URL once and classify the answer; never raises, never hangs.

    The whole probe (connect, status line, headers, body) has one wall-clock deadline,
    ``connect_timeout + read_timeout``; past it the bridge is unreachable and the reason says what was
    still incomplete. A single receive that waits ``read_timeout`` for nothing ends it too.
    """
    return _judge(bridge, *_start(bridge))


def _start(bridge: BridgeConfig) -> tuple[str, Pending]:
    checked_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    pending = Pending(
        bridge.health_url,
        connect_timeout=bridge.connect_timeout,
        read_timeout=bridge.read_timeout,
        max_body=MAX_BODY_BYTES,
    )
    return checked_at, pending


def _judge(bridge: BridgeConfig, checked_at: str, pending: Pending) -> BridgeProbe:
    fetched = pending.result()
    status, reason = verdict(fetched)
    return BridgeProbe(
        name=bridge.name,
        url=bridge.health_url,
        status=status,
        http_status=fetched.http_status,
        response_time_ms=round(fetched.elapsed * 1000.0, 1),
        reason=show_text(reason, MAX_REASON_CHARS),
        accepted=list(bridge.accept),
        checked_at=checked_at,
    )


def verdict(fetched: Fetched) -> tuple[str, str]:
    """(status, reason) of a fetched health answer: its failure, a redirect, or classify()."""
    if fetched.failure is not None:
        return fetched.failure
    assert fetched.http_status is not None
    if 300 <= fetched.http_status < 400:
        location = "(no Location header)" if fetched.location is None else show_text(fetched.location, 100)
        return "error", f"HTTP {fetched.http_status}, redirect to {location} (not followed)"
    return classify(fetched.http_status, fetched.body or b"")


def classify(http_status: int, body: bytes) -> tuple[str, str]:
    """Classify an HTTP answer of a health endpoint as (status, reason) following the bridge contract."""
    prefix = f"HTTP {http_status}"
    data, problem = load_json(body)
    if problem is not None:
        return "error", f"{prefix}, {problem}"
    if not isinstance(data, dict):
        return "error", f"{prefix}, body is not a JSON object"
    state = data.get("status")
    if not isinstance(state, str):
        return "error", f"{prefix}, body has no status string"
    state = show_text(state, 40)  # foreign text: escaped, short
    parts = [prefix, f"status {state}"]
    flags: dict[str, bool] = {}
    for key in CONNECTED_KEYS:
        if key in data:
            value = data[key]
            if not isinstance(value, bool):
                shown = show_text(json.dumps(value), 40)
                return "error", f"{prefix}, status {state}, {key} is {shown} (not a boolean)"
            flags[key] = value
            parts.append(f"{key} {json.dumps(value)}")
    reason = ", ".join(parts)
    disconnected = not all(flags.values())
    if http_status == 200:
        if state == "ok":
            return ("degraded" if disconnected else "ok"), reason
        if state == "degraded":
            return "degraded", reason
        return "error", f"{reason} (expected status ok or degraded)"
    if http_status == 503 and state == "degraded":
        return "degraded", reason
    return "error", reason


def load_json(body: bytes) -> tuple[Any, str | None]:
    """Parse an untrusted JSON body: (data, None), or (None, what is wrong with it); never raises."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "body is not UTF-8"
    if not text.strip():
        return None, "body is empty"
    if _nested_deeper_than(text, MAX_JSON_DEPTH):
        return None, f"body nested too deep (more than {MAX_JSON_DEPTH} levels)"
    try:
        return json.loads(text), None
    except RecursionError:  # the depth check above should make this unreachable
        return None, "body nested too deep"
    except ValueError:
        return None, "body is not JSON"


_JSON_MARKS = re.compile(r'["\\\[\]{}]')


def _nested_deeper_than(text: str, limit: int) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``limit``; strings are skipped, one pass."""
    depth = 0
    in_string = False
    escaped = -1  # the position of the character a backslash escapes
    for mark in _JSON_MARKS.finditer(text):
        char, at = mark.group(), mark.start()
        if in_string:
            if at == escaped:
                continue
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def probe_all(bridges: Sequence[BridgeConfig]) -> list[BridgeProbe]:
    """Probe every bridge concurrently (one thread each); the probes come back in the given order.

    All of them are done by the latest deadline (connect + read timeout) among them.
    """
    started = [_start(bridge) for bridge in bridges]
    return [_judge(bridge, *pending) for bridge, pending in zip(bridges, started, strict=True)]


def is_accepted(probe: BridgeProbe) -> bool:
    """Whether the probe's status is one of the states its bridge accepts."""
    return probe.status in probe.accepted


def wait_for(
    bridges: Sequence[BridgeConfig],
    wait: float,
    *,
    interval: float = 0.5,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> list[BridgeProbe]:
    """Poll until every bridge is accepted or ``wait`` seconds have passed; return the last probes.

    The loop is bounded twice: by the clock and by a poll count derived from ``wait / interval``, so an
    injected clock that never advances cannot make it spin forever.
    """
    interval = max(interval, 0.01)
    deadline = clock() + max(wait, 0.0)
    max_polls = math.ceil(max(wait, 0.0) / interval) + 1
    probes: list[BridgeProbe] = []
    for _ in range(max_polls):
        probes = probe_all(bridges)
        remaining = deadline - clock()
        if all(is_accepted(p) for p in probes) or remaining <= 0:
            break
        sleep(min(interval, remaining))
    return probes


# --------------------------------------------------------------------------- starting and stopping


@dataclass
class StartedBridge:
    """A bridge process that mcptest started and must stop."""

    bridge: BridgeConfig
    process: subprocess.Popen[bytes]
    log_path: Path


class BridgeStarter:
    """Starts bridges that are down and have a ``start`` command; stops exactly those on exit.

    Use as a context manager so that the bridges are stopped also on errors and KeyboardInterrupt::

        with BridgeStarter(log_dir=config.report_dir / "bridges", cwd=config.root) as starter:
            probes = starter.ensure(bridges, wait=10)
    """

    def __init__(
        self,
        *,
        log_dir: Path,
        cwd: Path | None = None,
        interval: float = 0.25,
        stop_grace: float = 5.0,
        stop_timeout: float = 60.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.cwd = cwd
        self.interval = max(interval, 0.01)
        self.stop_grace = stop_grace
        self.stop_timeout = stop_timeout
        self.clock = clock
        self.sleep = sleep
        self.started: list[StartedBridge] = []
        #: What went wrong while stopping (a stop command failing, a process that had to be killed).
        self.stop_problems: list[str] = []

    def __enter__(self) -> BridgeStarter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def ensure(self, bridges: Sequence[BridgeConfig], *, wait: float = 0.0) -> list[BridgeProbe]:
        """Probe ``bridges``, start the ones that are not accepted and can be started, and poll.

        A bridge without a ``start`` command is polled for up to ``wait`` seconds; a bridge that was
        started is polled for up to its ``start_timeout``. A start command that exits 0 (``docker
        compose up -d``) is fine as long as the health endpoint becomes accepted in time; one that
        exits with another code is reported with its code and the tail of its log.
        """
        probes = probe_all(bridges)
        already = {s.bridge.name for s in self.started}
        start_problems: dict[str, str] = {}
        mine: set[str] = set(already)
        for bridge, result in zip(bridges, probes, strict=True):
            if is_accepted(result) or not bridge.start or bridge.name in already:
                continue
            problem = self._launch(bridge)
            if problem:
                start_problems[bridge.name] = problem
            else:
                mine.add(bridge.name)

        now = self.clock()
        deadlines = {
            b.name: now + (b.start_timeout if b.name in mine and b.name not in already else max(wait, 0.0))
            for b in bridges
        }
        processes = {s.bridge.name: s for s in self.started}
        longest = max(deadlines.values(), default=now) - now
        for _ in range(math.ceil(longest / self.interval) + 1):
            pending = [
                i
                for i, (b, p) in enumerate(zip(bridges, probes, strict=True))
                if not is_accepted(p) and b.name not in start_problems and self.clock() < deadlines[b.name]
            ]
            for i in pending:
                name = bridges[i].name
                started = processes.get(name)
                if started is not None and name not in already:
                    code = started.process.poll()
                    if code not in (None, 0):
                        start_problems[name] = (
                            f"start command exited with code {code} before the bridge was healthy"
                            f" (log {started.log_path}){_log_tail(started.log_path)}"
                        )
            pending = [i for i in pending if bridges[i].name not in start_problems]
            if not pending:
                break
            self.sleep(self.interval)
            fresh = probe_all([bridges[i] for i in pending])
            for i, result in zip(pending, fresh, strict=True):
                probes[i] = result

        for bridge, result in zip(bridges, probes, strict=True):
            if bridge.name in mine:
                result.started_by_mcptest = True
            if bridge.name in start_problems:
                result.reason = f"{result.reason}; {start_problems[bridge.name]}"
            elif bridge.name in mine and bridge.name not in already and not is_accepted(result):
                result.reason = (
                    f"{result.reason}; not accepted within {bridge.start_timeout:g} s of starting it"
                )
        return probes

    def _launch(self, bridge: BridgeConfig) -> str | None:
        """Run the start command in its own process group; return a problem sentence or None."""
        assert bridge.start is not None
        try:
            argv = command_argv(bridge.start, bridge)
        except ValueError as exc:
            return f"start command {bridge.start!r} cannot be parsed: {exc}"
        if not argv:
            return "start command is empty"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"bridge-{_safe(bridge.name)}.log"
        with open(log_path, "ab") as log:
            log.write(
                f"--- {datetime.now(UTC).isoformat(timespec='seconds')} start: {bridge.start}\n".encode()
            )
            log.flush()
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    start_new_session=True,  # its own process group: stoppable as a whole, deaf to Ctrl-C
                )
            except OSError as exc:
                return f"start command {argv[0]!r} could not be run: {exc.strerror or exc}"
        self.started.append(StartedBridge(bridge, process, log_path))
        return None

    def stop(self) -> list[str]:
        """Stop every bridge this starter started, last started first; return the problems seen."""
        problems: list[str] = []
        while self.started:
            started = self.started.pop()
            problems.extend(self._stop_one(started))
        self.stop_problems.extend(problems)
        return problems

    def _stop_one(self, started: StartedBridge) -> list[str]:
        bridge, process = started.bridge, started.process
        problems: list[str] = []
        if bridge.stop:
            problem = self._run_stop_command(started)
            if problem:
                problems.append(problem)
        # Without a stop command, or when the start command still runs in the foreground after it,
        # the process group we created is ours to end.
        if not bridge.stop or process.poll() is None:
            problem = _terminate_group(process, self.stop_grace, self.sleep)
            if problem:
                problems.append(f"bridge {bridge.name}: {problem}")
        # Say so when something outlived the stop (a start command that detached and no stop command).
        after = probe(bridge)
        if after.http_status is not None:
            problems.append(
                f"bridge {bridge.name} still answers on {after.url} (HTTP {after.http_status}) after"
                " mcptest stopped what it started; configure a stop command"
                + ("" if not bridge.stop else " that stops it")
            )
        return problems

    def _run_stop_command(self, started: StartedBridge) -> str | None:
        bridge = started.bridge
        assert bridge.stop is not None
        try:
            argv = command_argv(bridge.stop, bridge)
        except ValueError as exc:
            return f"bridge {bridge.name}: stop command cannot be parsed: {exc}"
        if not argv:
            return f"bridge {bridge.name}: stop command is empty"
        with open(started.log_path, "ab") as log:
            log.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} stop: {bridge.stop}\n".encode())
            log.flush()
            try:
                code = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    timeout=self.stop_timeout,
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                return f"bridge {bridge.name}: stop command did not finish within {self.stop_timeout:g} s"
            except OSError as exc:
                return f"bridge {bridge.name}: stop command could not be run: {exc.strerror or exc}"
        if code != 0:
            return f"bridge {bridge.name}: stop command exited with code {code} (log {started.log_path})"
        return None


def command_argv(command: str, bridge: BridgeConfig) -> list[str]:
    """Split a start/stop command like a shell would and fill in its placeholders.

    ``{python}`` becomes the interpreter running mcptest (so ``{python} -m mcptest sim go`` works when
    ``mcptest`` is not on PATH, e.g. run as ``.venv/bin/mcptest``); ``{port}`` and ``{host}`` come from
    the bridge's URL. Placeholders are replaced after splitting, so a path with spaces stays one argument.
    """
    parts = urlsplit(bridge.url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    values = {"{python}": sys.executable, "{port}": str(port), "{host}": parts.hostname or ""}
    argv = shlex.split(command)
    for i, arg in enumerate(argv):
        for placeholder, value in values.items():
            arg = arg.replace(placeholder, value)
        argv[i] = arg
    return argv


def sim_call_count(bridge: BridgeConfig) -> int | None:
    """Requests a mcptest simulator has served on bridge routes other than /health since it started.

    Read from the simulator's ``GET /_sim/server``; the count survives ``/_sim/reset``, so diff two
    readings around a suite. None when the bridge is not a simulator (or cannot tell): unreachable,
    not 200, not JSON, too slow (the probe's deadline and size cap apply).
    """
    return _served(_ask_served(bridge))


def sim_call_counts(bridges: Sequence[BridgeConfig]) -> dict[str, int | None]:
    """sim_call_count() of each bridge, asked concurrently: done by the latest deadline among them."""
    asked = [(bridge.name, _ask_served(bridge)) for bridge in bridges]
    return {name: _served(pending) for name, pending in asked}


def _ask_served(bridge: BridgeConfig) -> Pending:
    url = bridge.url.rstrip("/") + "/_sim/server"
    return Pending(
        url, connect_timeout=bridge.connect_timeout, read_timeout=bridge.read_timeout, max_body=MAX_BODY_BYTES
    )


def _served(pending: Pending) -> int | None:
    fetched = pending.result()
    if fetched.failure is not None or fetched.http_status != 200 or fetched.body is None:
        return None
    data, problem = load_json(fetched.body)
    served = data.get("served") if problem is None and isinstance(data, dict) else None
    if not isinstance(served, int) or isinstance(served, bool) or served < 0:
        return None
    return served


@contextlib.contextmanager
def started_bridges(
    bridges: Sequence[BridgeConfig],
    *,
    log_dir: Path,
    start: bool = True,
    wait: float = 0.0,
    cwd: Path | None = None,
) -> Iterator[list[BridgeProbe]]:
    """Yield the probes of ``bridges``, starting (when ``start``) those that are down; stop them after."""
    if not start:
        yield wait_for(bridges, wait) if wait > 0 else probe_all(bridges)
        return
    with BridgeStarter(log_dir=log_dir, cwd=cwd) as starter:
        yield starter.ensure(bridges, wait=wait)


# --------------------------------------------------------------------------- preflight


@dataclass
class PreflightResult:
    """The probes of a preflight, whether all are accepted, and one sentence per bridge that is not."""

    probes: list[BridgeProbe]
    ok: bool
    reasons: list[str] = field(default_factory=list)


def select_bridges(config: Config, names: Sequence[str] | None) -> list[BridgeConfig]:
    """The configured bridges named (all when ``names`` is None), in order, without duplicates."""
    if names is None:
        return list(config.bridges.values())
    unknown = [n for n in names if n not in config.bridges]
    if unknown:
        known = ", ".join(config.bridges) or "none"
        raise UsageError(f"unknown bridge {', '.join(map(repr, unknown))} (configured: {known})")
    return [config.bridges[n] for n in dict.fromkeys(names)]


def preflight(
    config: Config,
    names: Sequence[str] | None,
    *,
    wait: float = 0.0,
    interval: float = 0.5,
    starter: BridgeStarter | None = None,
    required_by: Sequence[str] = (),
) -> PreflightResult:
    """Probe the named bridges (all when None), waiting up to ``wait`` s, starting them via ``starter``.

    ``required_by`` names the suites that need the bridges; it is recorded on every probe and used in
    the reasons. Raises UsageError for a bridge name that is not configured.
    """
    bridges = select_bridges(config, names)
    if starter is not None:
        probes = starter.ensure(bridges, wait=wait)
    elif wait > 0:
        probes = wait_for(bridges, wait, interval=interval)
    else:
        probes = probe_all(bridges)
    reasons = []
    for result in probes:
        result.required_by = list(required_by)
        if not is_accepted(result):
            reasons.append(refusal(result))
    return PreflightResult(probes=probes, ok=not reasons, reasons=reasons)


def refusal(result: BridgeProbe) -> str:
    """One sentence saying why a probe is not good enough."""
    accepted = "[" + ", ".join(result.accepted) + "]"
    if result.required_by:
        who = ("suite " if len(result.required_by) == 1 else "suites ") + ", ".join(result.required_by)
    else:
        who = "the config"
    return (
        f"bridge {result.name} ({result.url}) is {result.status}: {result.reason}; {who} requires {accepted}"
    )


# --------------------------------------------------------------------------- helpers


def _log_tail(path: Path, lines: int = 15, max_chars: int = 2000) -> str:
    try:
        text = path.read_bytes()[-max_chars * 2 :].decode("utf-8", "replace")
    except OSError:
        return ""
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    tail_text = "\n".join(tail)[-max_chars:]
    return f"; last output:\n{tail_text}" if tail_text else "; no output"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _terminate_group(process: subprocess.Popen[bytes], grace: float, sleep: Sleep) -> str | None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds; reap the leader."""
    pgid = process.pid  # start_new_session made the child the leader of a group with its pid
    if not _signal_group(pgid, signal.SIGTERM):
        process.wait()
        return None
    step = 0.05
    for _ in range(max(1, math.ceil(grace / step))):
        process.poll()  # reap the leader, else its zombie keeps the group "alive"
        if not _group_alive(pgid):
            return None
        sleep(step)
    _signal_group(pgid, signal.SIGKILL)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return f"process group {pgid} did not die after SIGKILL"
    return f"did not stop within {grace:g} s of SIGTERM; killed"


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    return _signal_group(pgid, 0)
