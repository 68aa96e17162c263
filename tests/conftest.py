"""Session set-up shared by every test module.

The tests start hundreds of pytest sessions of tiny throwaway projects (through ``mcptest run``, the
bisect and mutate runners, the simulators' fixtures). Each such session would load every plugin of
this environment: hypothesis alone costs about 0.6 s of start-up per session, pytest-xdist and
pytest-rerunfailures 0.02-0.03 s each. Those sessions get CHILD_ADDOPTS in PYTEST_ADDOPTS (see
projects.py), set once in each process that runs tests, for every subprocess it starts; the test
session itself and its xdist workers keep their plugins. A test that is about PYTEST_ADDOPTS, or whose
throwaway project uses one of those plugins, sets its own.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from projects import CHILD_ADDOPTS, PLUGIN_ADDOPTS

# Every one of those processes imports mcptest, pytest's rewritten test modules and the throwaway projects'
# code. Without a bytecode cache (PYTHONDONTWRITEBYTECODE, as .ci/run sets it to keep the checkout clean)
# each would compile them again: about 0.06 s per process. They get a cache outside the checkout instead;
# Python writes each file atomically and checks it against its source, so sharing it is safe.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), f"mcptest-tests-pycache-{os.getuid()}")


@pytest.fixture(autouse=True, scope="session")
def _child_sessions_addopts() -> None:
    """In the process that runs the tests (never in the xdist controller, whose workers would inherit it)."""
    os.environ["PYTEST_ADDOPTS"] = CHILD_ADDOPTS


@pytest.fixture
def child_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test whose throwaway project runs under pytest-xdist (-n) or pytest-rerunfailures: those load."""
    monkeypatch.setenv("PYTEST_ADDOPTS", PLUGIN_ADDOPTS)


@pytest.hookimpl(optionalhook=True)  # the hook is pytest-xdist's: -p no:xdist leaves it unknown
def pytest_xdist_auto_num_workers(config: object) -> int:
    """``-n auto``: one worker more than the cores this process may use.

    About a quarter of the suite's summed test time is spent waiting, not computing: on deadlines of hostile
    bridges, on simulators that answer slowly on purpose, on the budget of a suite that does not end. With
    one worker per core those waits leave a core idle; the extra worker fills them (measured on 2 cores:
    165 s with 2 workers, 137 s with 3, 142 s with 4).
    """
    return len(os.sched_getaffinity(0)) + 1


#: The tests that take longest on the wall clock (most of it waiting on simulators, deadlines and whole runs of
#: the bundled target), started first so that no worker is left with one of them at the end. A name that no
#: longer matches only loses its place in the queue.
LONGEST_FIRST = (
    "tests/test_bundled.py::test_bundled_run_all_starts_simulators_and_passes",
    "tests/test_ci_example.py::test_example_workflow_mcptest_steps_on_the_bundled_target",
    "tests/test_perf_smoke.py::test_perf_quick_prints_every_figure_line",
    "tests/test_mutate_foreign.py::test_src_layout_installed_editable_mutates_the_copy",
    "tests/test_bundled.py::test_bundled_unit_suite_passes_in_random_order_and_repeated",
    "tests/test_shard.py::test_three_shards_in_three_clones_combine_to_the_whole_run_and_refuse_foreign_bundles",
    "tests/test_mutate.py::test_endless_loop_mutant_is_a_timeout_outside_the_score",
    "tests/test_cli.py::test_mutate_command_reports_score_and_gates_on_min_score",
    "tests/test_lifecycle.py::test_budget_interrupts_a_test_that_does_not_end_and_saves_its_coverage",
    "tests/test_run_e2e.py::test_run_past_its_budget_is_stopped_with_budget_code",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the rest keep their order
