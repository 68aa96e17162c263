"""Mutation testing: small deliberate bugs in covered source lines, each run against the tests covering it.

The flow: copy the project into a temporary folder (:mod:`~mcptest.mutate.workspace`) -> run the suite
there once under coverage with per-test contexts (:mod:`~mcptest.mutate.baseline`) -> generate mutants
with ``ast`` on the covered lines (:mod:`~mcptest.mutate.operators`, :mod:`~mcptest.mutate.generate`)
-> run each mutant's covering tests (``pytest -x``) in a copy (:mod:`~mcptest.mutate.runs`, through the
warm server of :mod:`~mcptest.mutate.server`) -> killed / survived / timeout. The user's files are never
written: every mutant is applied to a copy, which is removed when the run ends, also on Ctrl-C or a
crash. This package returns data and never prints; progress goes to an ``on_event`` callback.
"""

from __future__ import annotations

from mcptest.mutate.api import default_workers, run_mutations
from mcptest.mutate.baseline import EventHandler
from mcptest.mutate.generate import PRAGMA, generate_mutants, sample
from mcptest.mutate.model import FORMAT_VERSION, STATUSES, BaselineFailed, Mutant, MutationResult
from mcptest.mutate.operators import OPERATORS
from mcptest.mutate.workspace import copy_project
from mcptest.mutate.workspace import write_source as _write_source

__all__ = [
    "FORMAT_VERSION",
    "OPERATORS",
    "PRAGMA",
    "STATUSES",
    "BaselineFailed",
    "EventHandler",
    "Mutant",
    "MutationResult",
    "_write_source",
    "copy_project",
    "default_workers",
    "generate_mutants",
    "run_mutations",
    "sample",
]
