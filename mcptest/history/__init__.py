"""The report folder (.mcptest/): run records, latest.json and baseline.json, written atomically.

Layout::

    .mcptest/runs/<id>.json   every run, complete or not
    .mcptest/latest.json      the last run that ended on its own (never an interrupted one)
    .mcptest/baseline.json    the record deltas are computed against (``mcptest baseline save``)
    .mcptest/index.jsonl      the trend index: one short line per stored run (id, time, selection, totals)

A record is checked against the schema when it is written and when it is read (``schemacheck``: a few
hundredths of a second for 2,500 tests). Reports never read the whole history: the trend and ``--against
previous`` come from the index, which is appended to with each stored run and rebuilt from runs/ (with a
warning) when it is missing or corrupt; a report reads the record it renders and the one it compares with.

The folder is hostile ground: anything may sit where a file or folder is due. ``History.prepare`` checks it
before a run (a file where the folder must be, a folder at latest.json, no write access, a full disk) and
raises ``ReportDirError`` (exit 4); ``History.read`` opens only regular files (a FIFO would block forever),
never follows a record's bad numbers (NaN, Infinity, a percentage outside 0..100, a negative count), and
turns whatever it cannot use into a warning; a failed write never touches the file it would replace.
"""

from mcptest.history.files import atomic_write_text
from mcptest.history.index import INDEX_HEADER, RunSummary
from mcptest.history.records import Loaded, number_problem, parse_json, schema_problem, validate
from mcptest.history.store import SUBFOLDERS, TREND_RUNS, History, RecordSchemaError, ReportDirError, new_run_id

__all__ = [
    "INDEX_HEADER",
    "SUBFOLDERS",
    "TREND_RUNS",
    "History",
    "Loaded",
    "RecordSchemaError",
    "ReportDirError",
    "RunSummary",
    "atomic_write_text",
    "new_run_id",
    "number_problem",
    "parse_json",
    "schema_problem",
    "validate",
]
