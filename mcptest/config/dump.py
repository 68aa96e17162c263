"""The resolved config as plain data, and under the keys of the file (for ``mcptest config check``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcptest.config_model import Config


def config_to_dict(config: Config) -> dict[str, Any]:
    """The resolved config as plain data (for ``mcptest config check``)."""
    import dataclasses

    def clean(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {
                k: clean(v) for k, v in value.items() if k not in ("lineno", "key", "max_drop_key", "max_drop_lineno")
            }
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    result: dict[str, Any] = clean(dataclasses.asdict(config))
    return result


def as_written(data: dict[str, Any]) -> dict[str, Any]:
    """The resolved config under the keys and in the shapes of mcptest.yaml (``flaky.allow``, ``suites.X.type``).

    Values are resolved (environment expanded, durations in seconds, source as measured); a key whose value
    is unset is left out, as it would be in the file; the file's own path is in the first comment line.
    """

    def given(value: Any) -> Any:
        if isinstance(value, dict):
            kept = {k: given(v) for k, v in value.items() if v is not None}
            return {k: v for k, v in kept.items() if v != {}}
        return value

    def threshold(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (entry.get("threshold") or {}).items() if v is not None}

    def named(entries: dict[str, Any], renames: dict[str, str] | None = None) -> dict[str, Any]:
        out = {}
        for key, entry in entries.items():
            item = {(renames or {}).get(k, k): v for k, v in entry.items() if k not in ("name", "threshold")}
            item |= threshold(entry)
            out[key] = item
        return out

    coverage = dict(data["coverage"])
    coverage["files"] = {f["pattern"]: threshold(f) for f in coverage.get("files", [])}
    written: dict[str, Any] = {"version": data["version"], "source": data["source"], "coverage": coverage}
    written["modules"] = named(data["modules"])
    written["suites"] = named(data["suites"], {"test_type": "type"})
    written["bridges"] = named(data["bridges"])
    written["report"] = data["report"]
    written["flaky"] = {"allow": data["flaky_allow"]}
    written["audit"] = {"gate": data["audit_gate"], "exclude": data["audit_exclude"], "naming": data["audit_naming"]}
    written["mutation"] = {"min_score": data["mutation_min_score"]}
    result: dict[str, Any] = given(written)
    return result
