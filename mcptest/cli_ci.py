"""The CI side of the command line: the hooks of `run --shard` and `--diff-base`, `combine`, `report --diff-base`.

``mcptest run`` calls :func:`prepare_run` once it has its options (the patch is read and the shard set up
before any test runs, so a wrong REF fails at once) and :func:`finish_run` after the run (the shard's bundle
is written). Heavy imports stay inside the functions, so ``mcptest --help`` starts fast.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcptest import exitcodes
from mcptest.cli_common import ConfigOpt, console, load
from mcptest.cli_options import HtmlOpt, JsonOpt, JunitOpt, QuietOpt, chosen_formats
from mcptest.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from mcptest.config_model import Config
    from mcptest.history import History
    from mcptest.model import RunRecord
    from mcptest.plan import RunOptions


#: The options ``mcptest run`` takes for CI (cli_run.py).
DiffBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--diff-base",
        help="Measure (and with coverage.patch gate) the lines changed since the merge base of REF and HEAD.",
        metavar="REF",
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="K/N: run the K-th of N parts of the suite (--shard 2/3) and write a bundle for 'mcptest combine'.",
        metavar="SHARD",
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", help="With --shard: the bundle's folder (default: <report dir>/shards/SUITE-K-of-N).", metavar="DIR"
    ),
]


@dataclass
class RunCI:
    """What :func:`prepare_run` set up for one ``mcptest run``; :func:`finish_run` ends it."""

    shard: tuple[int, int] | None = None
    out: Path | None = None
    workdir: Path | None = None
    data: Path | None = None
    extra: list[str] = field(default_factory=list)


def prepare_run(
    config: Config, options: RunOptions, *, diff_base: str | None, shard: str | None, out: Path | None
) -> RunCI:
    """Validate ``--shard``/``--out``/``--diff-base`` and add their hooks to ``options`` (before any test runs)."""
    ci = RunCI(out=out)
    if shard is None:
        if out is not None:
            raise UsageError("--out is where a shard writes its bundle: give it with --shard K/N")
        ref = diff_base or config.coverage.diff_base
        if ref:
            from mcptest import patch

            options.stages.append(patch.Stage(config, patch.read_diff(config.root, ref)))
        return ci
    from mcptest import shard as shard_mod
    from mcptest.history import History

    index, count = shard_mod.parse_spec(shard)
    if options.suite == "all":
        raise UsageError("--shard splits one suite: give its name, not 'all' (one matrix of shards per suite)")
    if options.suite not in config.suites:
        return ci  # the plan says which suites there are
    if diff_base:
        raise UsageError("--diff-base measures the whole suite's patch: give it to 'mcptest combine', not to a shard")
    if options.repeat > 1:
        raise UsageError("--shard with --repeat is not supported: repeat the tests in one run, or combine shards")
    ci.shard = (index, count)
    folder = shard_mod.bundle_folder(config, options.suite, index, count, out)
    if folder.exists() and (
        not folder.is_dir() or (not (folder / shard_mod.MANIFEST).is_file() and any(folder.iterdir()))
    ):
        raise UsageError(f"--out {folder}: it holds other files, not a shard bundle; give an empty or new folder")
    history = History(config.report_dir)
    source = shard_mod.durations_source(history, options.suite)
    ci.workdir = Path(tempfile.mkdtemp(prefix="mcptest-shard-"))
    durations = ci.workdir / "durations.json"
    import json

    durations.write_text(json.dumps(shard_mod.durations_of(source, options.suite) if source else {}), encoding="utf-8")
    info = ci.workdir / "split.jsonl"
    plugins = [p for p in os.environ.get("PYTEST_PLUGINS", "").split(",") if p.strip()]
    options.env.update(
        {
            shard_mod.SHARD_ENV: f"{index}/{count}",
            shard_mod.DURATIONS_ENV: str(durations),
            shard_mod.INFO_ENV: str(info),
            "PYTEST_PLUGINS": ",".join([*plugins, shard_mod.PLUGIN]),
        }
    )
    how = f"by the durations of run {source.id}" if source else "by count (no recorded durations)"
    options.narrowed.append(
        f"{shard_mod.REASON_PREFIX}{index}/{count} runs one part of the suite (split {how}); "
        "'mcptest combine' gates the whole"
    )
    ci.data = ci.workdir / "run.coverage"
    data = ci.data
    options.on_coverage_data = lambda path: shutil.copyfile(path, data)
    options.stages.append(shard_mod.Stage(options.suite, index, count, info, source.id if source else None))
    return ci


def finish_run(out: Console, config: Config, record: RunRecord, ci: RunCI) -> None:
    """Write the shard's bundle (not for an interrupted run) and remove the shard's temporary folder."""
    try:
        if ci.shard is None or record.exit_code == exitcodes.INTERRUPTED or record.shard is None:
            return
        from mcptest import shard as shard_mod
        from mcptest.console_report import markup
        from mcptest.record import now_iso

        folder = shard_mod.bundle_folder(config, record.selection.suite, *ci.shard, ci.out)
        data = ci.data if ci.data is not None and ci.data.exists() else None
        written = shard_mod.write_bundle(folder, config, record, data, created_at=now_iso())
        out.print(
            markup(
                "Wrote shard bundle {} (shard {}/{}: {} of {} tests); combine the bundles with: mcptest combine",
                written,
                record.shard.index,
                record.shard.count,
                record.shard.selected,
                record.shard.collected,
            ),
            soft_wrap=True,
        )
    finally:
        if ci.workdir is not None:
            shutil.rmtree(ci.workdir, ignore_errors=True)


def report_patch(config: Config, record: RunRecord, diff_base: str) -> None:
    """``mcptest report --diff-base REF``: the patch of the stored run, measured against the working tree now.

    The record's line numbers are those of the commit it ran at; another commit is refused."""
    from mcptest import patch

    if record.coverage is None:
        raise UsageError(f"--diff-base: run {record.id} has no coverage data to measure the patch with")
    if any(patch.lacks_taken_branches(f) for f in record.coverage.files):
        raise UsageError(
            f"--diff-base: run {record.id} was recorded by an older mcptest, without the branches each file took; "
            "run the suite again to measure its patch"
        )
    diff = patch.read_diff(config.root, diff_base)
    ran_at = record.meta.git.commit if record.meta.git else None
    if ran_at is not None and diff.head is not None and ran_at != diff.head:
        raise UsageError(
            f"--diff-base: run {record.id} ran at commit {ran_at[:12]}, but HEAD is {diff.head[:12]}: its line numbers "
            f"are not those of this checkout; check out {ran_at[:12]} or run the suite again"
        )
    record.patch = patch.measure(diff, record.coverage)
    record.verdicts = [v for v in record.verdicts if v.target != patch.TARGET]
    judged = not record.selection.partial and record.complete
    if judged:
        record.verdicts += patch.gate(config, record.patch)


# --- combine --------------------------------------------------------------------------------------------


#: The options of ``mcptest combine`` (--html, --json, --junit and --quiet are shared: cli_options.py).
BundlesArg = Annotated[
    list[Path],
    typer.Argument(
        help="Shard bundle folders (or folders holding them, as an artifact download makes).", metavar="BUNDLE"
    ),
]
MarkdownOpt = Annotated[
    bool, typer.Option("--markdown", help="Also write the Markdown summary (and append it to the step summary).")
]
AgainstOpt = Annotated[
    str,
    typer.Option("--against", help="Deltas and max_drop against 'baseline' or a run record FILE.", metavar="FILE"),
]
CombineDiffBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--diff-base",
        help="Measure and gate the lines changed since the merge base of REF and HEAD.",
        metavar="REF",
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Report folder (default: <report dir>/report).", metavar="DIR")
]
ShowMissingOpt = Annotated[
    bool, typer.Option("--show-missing", help="Show the Missing lines and branches of every file.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="List every failure and every file.")]


def _baseline(history: History, against: str) -> RunRecord | None:
    """``--against``: the stored baseline, or the run record in the file given."""
    if against == "baseline":
        return history.baseline()
    path = Path(against)
    if not path.is_file():
        raise UsageError(f"--against: {against!r} is not 'baseline' or an existing record file")
    read = history.read(path, "record")
    if read.record is None:
        raise UsageError(read.warning or f"--against: {against} is not a run record")
    return read.record


def _combined(config: Config, history: History, bundles: list[Path], against: str, diff_base: str | None) -> RunRecord:
    """The bundles found, read and checked (and the patch read, at their commit) and combined into one record."""
    from mcptest import combine as combine_mod

    loaded = combine_mod.load_all(combine_mod.find_bundles(bundles))
    combine_mod.check(loaded, config)
    diff = None
    ref = diff_base or config.coverage.diff_base
    if ref:
        from mcptest import patch

        diff = patch.read_diff(config.root, ref)
        combine_mod.check_head(loaded, diff.head)
    baseline = _baseline(history, against)
    return combine_mod.combine(
        config, loaded, baseline=baseline, diff=diff, command=["mcptest", "combine", *sys.argv[2:]]
    )


def combine(
    bundles: BundlesArg,
    html: HtmlOpt = False,
    json_out: JsonOpt = False,
    markdown: MarkdownOpt = False,
    junit: JunitOpt = False,
    against: AgainstOpt = "baseline",
    diff_base: CombineDiffBaseOpt = None,
    output: OutputOpt = None,
    show_missing: ShowMissingOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    config_path: ConfigOpt = None,
) -> None:
    """Join the shard bundles of one suite into one run: coverage combined, gates judged once, reports written.

    Refuses bundles of different commits, configs or splits, and a missing or duplicated shard. The exit
    code is that of the whole suite run at once; the combined record becomes latest.json (its test durations
    balance the next split once saved as the baseline).

    Examples:

      mcptest combine .mcptest/shards/unit-1-of-3 .mcptest/shards/unit-2-of-3 .mcptest/shards/unit-3-of-3

      mcptest combine bundles/ --markdown --junit --diff-base origin/main
    """
    from mcptest import console_report
    from mcptest.cli_report import write_reports
    from mcptest.history import History

    if verbose and quiet:
        raise UsageError("-q and -v contradict each other: give one of them")
    config = load(config_path)
    history = History(config.report_dir)
    history.prepare()
    record = _combined(config, history, bundles, against, diff_base)
    record.warnings = history.warnings + record.warnings
    history.save_run(record)
    out = console()
    console_report.print_record(out, record, verbosity=1 if verbose else -1 if quiet else 0, show_missing=show_missing)
    formats = chosen_formats(html, json_out, markdown, junit)
    if formats:
        write_reports(out, config, record, formats, output)  # and the step summary, as mcptest run does
    raise typer.Exit(record.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``combine`` to the ``mcptest`` command."""
    app.command("combine")(combine)


__all__ = ["RunCI", "combine", "finish_run", "prepare_run", "register", "report_patch"]
