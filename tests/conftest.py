"""Session set-up shared by every test module.

The tests start hundreds of pytest sessions of tiny throwaway projects (through ``mcptest run``, the
bisect and mutate runners, the simulators' fixtures). Each such session would load every plugin of
this environment, and hypothesis alone costs about 0.6 s of start-up per session; none of the
throwaway projects uses it or requests-mock. Those sessions get CHILD_ADDOPTS in PYTEST_ADDOPTS, set
here once for every subprocess the tests start (the value this session was started with has been
read already). A test that is about PYTEST_ADDOPTS sets its own.
"""

from __future__ import annotations

import os

from projects import CHILD_ADDOPTS

os.environ["PYTEST_ADDOPTS"] = CHILD_ADDOPTS


def pytest_xdist_auto_num_workers(config: object) -> int:
    """``-n auto``: one worker more than the cores this process may use.

    About a quarter of the suite's summed test time is spent waiting, not computing: on deadlines of hostile
    bridges, on simulators that answer slowly on purpose, on the budget of a suite that does not end. With
    one worker per core those waits leave a core idle; the extra worker fills them (measured on 2 cores:
    165 s with 2 workers, 137 s with 3, 142 s with 4).
    """
    return len(os.sched_getaffinity(0)) + 1
