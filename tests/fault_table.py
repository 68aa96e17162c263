"""The fault table: every hostile case mcptest must survive, its exit code and what the record holds.

Each row names the test that proves it; that test reads its expected exit code from here (``FAULTS[case]``),
so the table in docs/faults.md and the tests cannot drift: ``tests/test_fault_table.py`` checks that the
document equals ``render()`` and that every named test exists. Regenerate the document with
``python tests/fault_table.py > docs/faults.md``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    case: str  # a short, stable id
    area: str  # false-pass, crash, hang, reason, config, report-dir, bridge, process
    what: str  # the fault, in a few words
    exit: int  # the exit code mcptest must end with
    record: str  # what the run record holds afterwards ("none" when no run record is due)
    test: str  # tests/FILE.py::test_name that proves it


ROWS: tuple[Fault, ...] = (
    # Rows are added next to the tests that prove them; keep them grouped by area.
    # crash: foreign text (test ids, messages, bridge reasons, paths) in what mcptest prints and writes
    Fault(
        "hostile-markup-in-output",
        "crash",
        "test ids and failure messages holding rich markup (`[/etc]`, `[bold]x[/]`, `[asyncio]`), not a terminal",
        1,
        "failed; ids and messages as written, and printed verbatim (was: MarkupError, exit 70, no record)",
        "tests/test_hostile_output.py::test_hostile_markup_in_ids_and_messages_is_printed_verbatim",
    ),
    Fault(
        "hostile-control-sequences",
        "crash",
        "terminal control sequences (OSC 8 link, CSI `2J`, 8-bit CSI, BEL, CR) in test ids and failure messages",
        1,
        "failed; the raw text kept; terminal, HTML, Markdown and JUnit show it with the controls stripped",
        "tests/test_hostile_output.py::test_hostile_control_sequences_are_stripped_from_every_output",
    ),
    # config: mcptest.yaml holes (wrong container types, globs in test paths, alias bombs, long values)
    Fault(
        "config-wrong-container",
        "config",
        "`coverage: []`, `bridges: []`, `suites: []`, `coverage.files: ''`, `source: {}`: a mapping or list "
        "of the wrong type",
        4,
        "none; file:line, the dotted key and what was expected (was: accepted as empty)",
        "tests/test_config_hostile.py::test_a_container_of_the_wrong_type_names_its_key_and_what_was_expected",
    ),
    Fault(
        "config-glob-suite-paths",
        "config",
        "a glob in `suites.NAME.paths` (or `modules.NAME.tests`)",
        0,
        "the suite's paths expanded, sorted, relative; pytest gets them (was: the glob reached pytest as written)",
        "tests/test_config_hostile.py::test_glob_in_suite_paths_reaches_pytest_expanded",
    ),
    Fault(
        "config-glob-matches-nothing",
        "config",
        "a glob in test paths that matches no file or folder",
        4,
        "none; file:line, key, value",
        "tests/test_config_hostile.py::test_glob_that_matches_nothing_is_an_error",
    ),
    Fault(
        "config-alias-bomb",
        "config",
        "a YAML alias repeating a 100 KB scalar 5,000 times (500 MB expanded)",
        4,
        "none; error in well under 2 s naming the alias's line and the limit (was: `config check` ran for minutes)",
        "tests/test_config_hostile.py::test_alias_bomb_fails_fast_naming_the_alias_and_the_limit",
    ),
    Fault(
        "config-long-value",
        "config",
        "a 100,000-character value, key or variable name in an error",
        4,
        "none; the value cut to its start and \"... (N characters)\"",
        "tests/test_config_hostile.py::test_long_values_are_cut_in_messages",
    ),
    # report-dir: the report folder as hostile ground, and records with impossible numbers
    Fault(
        "report-dir-is-file",
        "report-dir",
        "`.mcptest` is a regular file",
        4,
        "none; no test runs; the error names the path (was: exit 70)",
        "tests/test_report_dir.py::test_report_dir_that_is_a_file_is_exit_4_before_the_tests",
    ),
    Fault(
        "report-dir-points-at-file",
        "report-dir",
        "`report.dir` names a file, or a folder below a file",
        4,
        "none; no test runs (was: exit 70)",
        "tests/test_report_dir.py::test_report_dir_config_pointing_at_a_file_is_exit_4",
    ),
    Fault(
        "report-subfolder-is-file",
        "report-dir",
        "`runs`, `tmp` or `logs` in the report folder is a file",
        4,
        "none; no test runs",
        "tests/test_report_dir.py::test_subfolder_that_is_a_file_is_exit_4",
    ),
    Fault(
        "report-dir-read-only",
        "report-dir",
        "a read-only report folder (mode 0555, also for root without CAP_DAC_OVERRIDE)",
        4,
        "none; no test runs; baseline.json byte for byte as it was",
        "tests/test_report_dir.py::test_read_only_report_dir_is_exit_4_before_the_tests_and_keeps_the_baseline",
    ),
    Fault(
        "report-dir-full-at-start",
        "report-dir",
        "a full disk (ENOSPC) when the run starts",
        4,
        "none; found by a probe file before any test runs",
        "tests/test_report_dir.py::test_full_disk_is_found_before_the_run",
    ),
    Fault(
        "report-dir-full-on-write",
        "report-dir",
        "a full disk (ENOSPC) while writing a record or the baseline",
        4,
        "the old file untouched, no temporary file left",
        "tests/test_report_dir.py::test_baseline_save_on_a_full_disk_is_a_one_line_error_and_keeps_the_baseline",
    ),
    Fault(
        "report-baseline-save-over-folder",
        "report-dir",
        "`mcptest baseline save` where baseline.json is a folder",
        4,
        "the folder left as it was; the error names it",
        "tests/test_report_dir.py::test_baseline_save_over_a_folder_is_a_one_line_error",
    ),
    Fault(
        "report-latest-is-folder",
        "report-dir",
        "`latest.json` is a folder when the run starts",
        4,
        "none; no test runs; baseline unchanged (was: exit 70 after the tests)",
        "tests/test_report_dir.py::test_latest_json_that_is_a_folder_is_exit_4_and_keeps_the_baseline",
    ),
    Fault(
        "report-latest-folder-mid-run",
        "report-dir",
        "`latest.json` becomes a folder during the run",
        4,
        "`runs/ID.json` with a config verdict naming latest.json and the run's path; printed with the tables",
        "tests/test_report_dir.py::test_latest_json_turned_into_a_folder_during_the_run_is_recorded_in_runs",
    ),
    Fault(
        "report-baseline-fifo",
        "report-dir",
        "`baseline.json` is a FIFO",
        0,
        "complete; warning \"not a regular file; ignoring it (no deltas)\" (was: blocked forever)",
        "tests/test_report_dir.py::test_run_with_a_fifo_baseline_ends_and_warns",
    ),
    Fault(
        "report-config-check-dir-is-file",
        "report-dir",
        "`mcptest config check` with `.mcptest` a file",
        4,
        "none",
        "tests/test_report_dir.py::test_config_check_reports_the_report_folder",
    ),
    Fault(
        "report-config-check-latest-folder",
        "report-dir",
        "`mcptest config check` with `latest.json` a folder",
        4,
        "none",
        "tests/test_report_dir.py::test_config_check_reports_the_report_folder",
    ),
    Fault(
        "report-config-check-baseline-fifo",
        "report-dir",
        "`mcptest config check` with `baseline.json` a FIFO",
        0,
        "none; a warning names it",
        "tests/test_report_dir.py::test_config_check_reports_the_report_folder",
    ),
    Fault(
        "report-baseline-nan",
        "report-dir",
        "a baseline holding NaN (Python's json accepts it)",
        0,
        "complete; warning \"baseline ... is corrupt: KEY is NaN ...; ignoring it (no deltas)\"; baseline unchanged",
        "tests/test_report_dir.py::test_run_with_a_nan_baseline_warns_and_has_no_deltas",
    ),
    Fault(
        "report-baseline-impossible-numbers",
        "report-dir",
        "a baseline with Infinity, 1e999, a percentage below 0 or above 100, a negative count, more lines "
        "covered than exist",
        0,
        "as for NaN: corrupt, no deltas",
        "tests/test_report_dir.py::test_baseline_with_impossible_numbers_is_corrupt",
    ),
    Fault(
        "report-latest-corrupt",
        "report-dir",
        "`mcptest report` on a latest.json holding NaN",
        4,
        "none; the warning says why, then \"no readable latest run\"",
        "tests/test_report_dir.py::test_report_of_a_corrupt_latest_record_is_exit_4_with_the_reason",
    ),
    # bridge: one wall-clock deadline per probe (connect + read timeout); the server's bytes are hostile
    Fault(
        "bridge-slow-status-line",
        "hang",
        "bridge sends its status line at 1 B/s",
        3,
        "bridge `unreachable`: no complete answer within connect + read timeout, status line incomplete",
        "tests/test_bridges_hostile.py::test_hostile_slow_answer_is_unreachable_at_the_deadline[bridge-slow-status-line]",
    ),
    Fault(
        "bridge-slow-headers",
        "hang",
        "bridge sends its headers at 1 B/s",
        3,
        "bridge `unreachable`: no complete answer within connect + read timeout, headers incomplete",
        "tests/test_bridges_hostile.py::test_hostile_slow_answer_is_unreachable_at_the_deadline[bridge-slow-headers]",
    ),
    Fault(
        "bridge-endless-100-continue",
        "hang",
        "bridge answers `100 Continue` forever",
        3,
        "bridge `unreachable`: no complete answer within connect + read timeout, headers incomplete",
        "tests/test_bridges_hostile.py::test_hostile_slow_answer_is_unreachable_at_the_deadline[bridge-endless-100-continue]",
    ),
    Fault(
        "bridge-slow-body",
        "hang",
        "bridge sends its body at 2 B/s",
        3,
        "bridge `unreachable`: no complete answer within connect + read timeout, body incomplete (N bytes so far)",
        "tests/test_bridges_hostile.py::test_hostile_slow_answer_is_unreachable_at_the_deadline[bridge-slow-body]",
    ),
    Fault(
        "bridge-slow-chunked-body",
        "hang",
        "bridge sends an endless chunked body, 1 byte a chunk",
        3,
        "bridge `unreachable`: no complete answer within connect + read timeout, body incomplete",
        "tests/test_bridges_hostile.py::test_hostile_slow_answer_is_unreachable_at_the_deadline[bridge-slow-chunked-body]",
    ),
    Fault(
        "bridge-slow-headers-cli",
        "hang",
        "`mcptest bridges check` of a bridge whose headers never end",
        3,
        "none (`--json`: the probe is unreachable, headers incomplete)",
        "tests/test_bridges_hostile.py::test_cli_bridges_check_of_a_slow_headers_bridge_exits_3_in_time",
    ),
    Fault(
        "bridge-slow-headers-run",
        "hang",
        "`mcptest run` of a suite requiring a bridge whose headers never end",
        3,
        "suite `not-run`, bridge `unreachable` (headers incomplete)",
        "tests/test_bridges_hostile.py::test_cli_run_of_a_suite_requiring_a_slow_headers_bridge_exits_3",
    ),
    Fault(
        "bridge-ssh-banner",
        "bridge",
        "an SSH server's banner, then silence",
        3,
        "bridge `error`: not an HTTP answer: b'SSH-2.0-...'",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-ssh-banner]",
    ),
    Fault(
        "bridge-ssh-banner-close",
        "bridge",
        "an SSH server's banner, then close",
        3,
        "bridge `error`: not an HTTP answer: b'SSH-2.0-...'",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-ssh-banner-close]",
    ),
    Fault(
        "bridge-garbage-bytes",
        "bridge",
        "binary garbage instead of an answer",
        3,
        "bridge `error`: not an HTTP answer, first bytes escaped",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-garbage-bytes]",
    ),
    Fault(
        "bridge-http2-status",
        "bridge",
        "an `HTTP/2.0` status line",
        3,
        "bridge `error`: not an HTTP answer",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-http2-status]",
    ),
    Fault(
        "bridge-reset-after-status-line",
        "bridge",
        "connection reset after the status line",
        3,
        "bridge `unreachable`: connection reset: headers incomplete",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-reset-after-status-line]",
    ),
    Fault(
        "bridge-reset-at-once",
        "bridge",
        "connection reset before any byte",
        3,
        "bridge `unreachable`: connection reset",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-reset-at-once]",
    ),
    Fault(
        "bridge-closed-at-once",
        "bridge",
        "connection closed before any byte",
        3,
        "bridge `unreachable`: connection closed without an answer",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-closed-at-once]",
    ),
    Fault(
        "bridge-truncated-headers",
        "bridge",
        "headers cut off mid-line, then close",
        3,
        "bridge `error`: HTTP 200, body is empty",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-truncated-headers]",
    ),
    Fault(
        "bridge-truncated-json-body",
        "bridge",
        "a 200 whose JSON body is shorter than its Content-Length",
        3,
        "bridge `error`: body cut short (N of M bytes)",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-truncated-json-body]",
    ),
    Fault(
        "bridge-truncated-chunked-body",
        "bridge",
        "a chunked body cut off mid-chunk",
        3,
        "bridge `error`: chunked body cut short or malformed",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-truncated-chunked-body]",
    ),
    Fault(
        "bridge-bad-chunk-size",
        "bridge",
        "a chunk size that is not hexadecimal",
        3,
        "bridge `error`: chunked body cut short or malformed",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-bad-chunk-size]",
    ),
    Fault(
        "bridge-negative-chunk-size",
        "bridge",
        "a negative chunk size, then endless data",
        3,
        "bridge `error`: larger than the size cap",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-negative-chunk-size]",
    ),
    Fault(
        "bridge-invalid-utf8",
        "bridge",
        "a body that is not UTF-8",
        3,
        "bridge `error`: body is not UTF-8",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-invalid-utf8]",
    ),
    Fault(
        "bridge-deep-json",
        "bridge",
        "a body of 30,000 `[` (was a RecursionError, exit 70)",
        3,
        "bridge `error`: body nested too deep",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-deep-json]",
    ),
    Fault(
        "bridge-deep-json-chunked",
        "bridge",
        "30,000 `{` in a chunked body",
        3,
        "bridge `error`: body nested too deep",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-deep-json-chunked]",
    ),
    Fault(
        "bridge-endless-chunked-body",
        "bridge",
        "an endless chunked body at full speed",
        3,
        "bridge `error`: body larger than 64 KiB",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-endless-chunked-body]",
    ),
    Fault(
        "bridge-endless-close-delimited-body",
        "bridge",
        "an endless body without Content-Length",
        3,
        "bridge `error`: body larger than 64 KiB",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-endless-close-delimited-body]",
    ),
    Fault(
        "bridge-huge-header-line",
        "bridge",
        "a 70 KB header line",
        3,
        "bridge `error`: malformed HTTP answer (header line too long)",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-huge-header-line]",
    ),
    Fault(
        "bridge-huge-status-line",
        "bridge",
        "a 70 KB status line",
        3,
        "bridge `error`: malformed HTTP answer (status line too long)",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-huge-status-line]",
    ),
    Fault(
        "bridge-thousands-of-headers",
        "bridge",
        "5,000 header lines",
        3,
        "bridge `error`: malformed HTTP answer (more than 100 headers)",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-thousands-of-headers]",
    ),
    Fault(
        "bridge-switching-protocols",
        "bridge",
        "`101 Switching Protocols` to a health check",
        3,
        "bridge `error`: the server switched protocols",
        "tests/test_bridges_hostile.py::test_hostile_broken_answer_gets_a_verdict[bridge-switching-protocols]",
    ),
    Fault(
        "bridge-sim-counter-hostile",
        "bridge",
        "`/_sim/server` endless, slow, deep or not HTTP",
        0,
        "the bridge's calls unknown (no `bridge_calls` entry); no crash, no hang",
        "tests/test_bridges_hostile.py::test_sim_call_count_of_an_endless_or_slow_server_is_unknown",
    ),
)

FAULTS: dict[str, Fault] = {row.case: row for row in ROWS}


def render() -> str:
    """docs/faults.md."""
    lines = [
        "# Fault table",
        "",
        "Every hostile case below is a test of mcptest's own suite; the test takes its expected exit code",
        "from `tests/fault_table.py`, and `tests/test_fault_table.py` checks that this page matches it.",
        "Exit codes are those of the README (0 ok, 1 tests-failed, 2 threshold-missed, 3 bridge-unavailable,",
        "4 config-error, 5 no-tests-or-data, 6 budget-exceeded, 130 interrupted; 70 never appears here).",
        "",
        "| area | case | fault | exit | record | test |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        cells = (row.area, f"`{row.case}`", row.what, str(row.exit), row.record, f"`{row.test}`")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
